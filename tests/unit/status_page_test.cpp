// The status page renderer on its own: ordering, counts, databases and escaping of every
// field that can carry text from configuration, a database or an error.
#include <catch2/catch.hpp>

#include "daemon/core/status_page.hpp"

using namespace invariantd;

namespace {

nlohmann::ordered_json check(const std::string& name, const std::string& state) {
    return {{"name", name},         {"module", "sql"},   {"database", "pos"},  {"state", state},
            {"value", 2},           {"last_run", "2026-11-22T15:02:38.806Z"}, {"last_success", nullptr},
            {"error", nullptr},     {"condition", "> 0"}};
}

}  // namespace

TEST_CASE("status page: worst state first, counts of the states present, databases with their errors", "[status_page]") {
    status_page_view view{"0.1.0", "2026-11-22T15:03:00Z", {}, {}};
    view.checks = {check("a_ok", "ok"), check("b_pending", "pending"), check("c_firing", "firing"), check("d_error", "error"),
                   check("e_firing", "firing")};
    view.databases = {{"pos", true, ""}, {"staffing", false, "connection refused <host>"}};
    const auto page = render_status_page(view);

    const auto at = [&](const std::string& name) { return page.find("data-check=\"" + name + "\""); };
    CHECK(at("c_firing") < at("e_firing"));  // stable among equals
    CHECK(at("e_firing") < at("d_error"));
    CHECK(at("d_error") < at("b_pending"));
    CHECK(at("b_pending") < at("a_ok"));
    CHECK(page.find("5 checks: <span class=\"badge firing\">2 firing</span> <span class=\"badge error\">1 error</span> "
                    "<span class=\"badge pending\">1 pending</span> <span class=\"badge ok\">1 ok</span>") != std::string::npos);
    CHECK(page.find("<title>invariantd: 2 firing, 1 error</title>") != std::string::npos);
    CHECK(page.find("<span class=\"badge ok\">up</span> pos</li>") != std::string::npos);
    CHECK(page.find("<span class=\"badge error\">down</span> staffing: connection refused &lt;host&gt;</li>") != std::string::npos);
    CHECK(page.find("<time datetime=\"2026-11-22T15:02:38.806Z\">2026-11-22 15:02:38Z</time>") != std::string::npos);
    CHECK(page.find(">never</td>") != std::string::npos);  // no last success yet

    // Only states that occur are summarised: nothing firing, no red badge in the summary.
    view.checks = {check("a_ok", "ok")};
    CHECK(render_status_page(view).find("badge firing") == std::string::npos);
}

TEST_CASE("status page: a check with offenders says how many are new and since when the oldest", "[status_page]") {
    status_page_view view{"0.1.0", "2026-11-22T15:03:00Z", {}, {}};
    auto with = check("shifts", "firing");
    with["offenders"] = {{"tracked", 3}, {"new", 1}, {"oldest_age", "3d4h"}};
    auto without = check("quiet", "ok");
    without["offenders"] = {{"tracked", 0}, {"new", 0}};
    view.checks = {with, without, check("never_ran", "ok")};
    const auto page = render_status_page(view);
    CHECK(page.find("<div class=\"offenders\">1 new &middot; oldest since 3d4h</div>") != std::string::npos);
    CHECK(page.find("class=\"offenders\"") == page.rfind("class=\"offenders\""));  // only the check with offenders
}

TEST_CASE("status page: every printed field is escaped", "[status_page]") {
    auto hostile = check("x", "error");
    hostile["error"] = "no such table: <script>alert('x')</script> & \"more\"";
    hostile["condition"] = "> 0 <b>";
    hostile["value"] = "<i>";
    status_page_view view{"1.0<script>", "now\"", {{"db<1>", false, "<err>"}}, {hostile}};
    const auto page = render_status_page(view);
    CHECK(page.find("<script") == std::string::npos);
    CHECK(page.find("<b>") == std::string::npos);
    CHECK(page.find("<i>") == std::string::npos);
    CHECK(page.find("<err>") == std::string::npos);
    CHECK(page.find("no such table: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;") != std::string::npos);
    CHECK(page.find("version 1.0&lt;script&gt;") != std::string::npos);
    CHECK(page.find("data-database=\"db&lt;1&gt;\"") != std::string::npos);
}
