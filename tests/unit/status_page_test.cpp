// The page renderers on their own: ordering, counts, filters, formatted values, charts,
// databases and escaping of every field that can carry text from configuration, a database
// or an error.
#include "daemon/core/status_page.hpp"

#include <catch2/catch.hpp>

using namespace invariantd;

namespace {

status_page_check check(const std::string& name, const std::string& state,
                        const std::string& database = "pos") {
    status_page_check entry;
    entry.check = {{"name", name},
                   {"module", "sql"},
                   {"database", database},
                   {"state", state},
                   {"value", 2},
                   {"last_run", "2026-11-22T15:02:38.806Z"},
                   {"last_success", nullptr},
                   {"error", nullptr},
                   {"condition", "> 0"},
                   {"interval", "1m"}};
    entry.threshold = 0;
    entry.comparator = ">";
    return entry;
}

}  // namespace

TEST_CASE("status page: worst state first, counts of the states present, databases with their errors",
          "[status_page]") {
    status_page_view view{"0.1.0", "2026-11-22T15:03:00Z", {}, {}, {}, {}, {}};
    view.checks = {check("a_ok", "ok"), check("b_pending", "pending"), check("c_firing", "firing"),
                   check("d_error", "error"), check("e_firing", "firing")};
    view.databases = {{"pos", true, ""}, {"staffing", false, "connection refused <host>"}};
    const auto page = render_status_page(view);

    const auto at = [&](const std::string& name) { return page.find("data-check=\"" + name + "\""); };
    CHECK(at("c_firing") < at("e_firing"));  // stable among equals
    CHECK(at("e_firing") < at("d_error"));
    CHECK(at("d_error") < at("b_pending"));
    CHECK(at("b_pending") < at("a_ok"));
    CHECK(page.find("5 checks: <span class=\"badge firing\">2 firing</span> <span class=\"badge error\">1 "
                    "error</span> "
                    "<span class=\"badge pending\">1 pending</span> <span class=\"badge ok\">1 ok</span>") !=
          std::string::npos);
    CHECK(page.find("<title>invariantd: 2 firing, 1 error</title>") != std::string::npos);
    CHECK(page.find("<span class=\"badge ok\">up</span> pos</li>") != std::string::npos);
    CHECK(
        page.find("<span class=\"badge error\">down</span> staffing: connection refused &lt;host&gt;</li>") !=
        std::string::npos);
    CHECK(page.find("<time datetime=\"2026-11-22T15:02:38.806Z\">2026-11-22 15:02:38Z</time>") !=
          std::string::npos);
    CHECK(page.find("last success never") != std::string::npos);  // no last success yet

    // Only states that occur are summarised: nothing firing, no red badge in the summary.
    view.checks = {check("a_ok", "ok")};
    CHECK(render_status_page(view).find("badge firing") == std::string::npos);
}

TEST_CASE("status page: a check with offenders says how many are new and since when the oldest",
          "[status_page]") {
    status_page_view view{"0.1.0", "2026-11-22T15:03:00Z", {}, {}, {}, {}, {}};
    auto with = check("shifts", "firing");
    with.check["offenders"] = {{"tracked", 3}, {"new", 1}, {"oldest_age", "3d4h"}};
    auto without = check("quiet", "ok");
    without.check["offenders"] = {{"tracked", 0}, {"new", 0}};
    view.checks = {with, without, check("never_ran", "ok")};
    const auto page = render_status_page(view);
    CHECK(page.find("<div class=\"offenders\">1 new &middot; oldest since 3d4h</div>") != std::string::npos);
    CHECK(page.find("class=\"offenders\"") ==
          page.rfind("class=\"offenders\""));  // only the check with offenders
}

TEST_CASE("status page: every printed field is escaped", "[status_page]") {
    auto hostile = check("x", "error");
    hostile.check["error"] = "no such table: <script>alert('x')</script> & \"more\"";
    hostile.check["module"] = "<b>";
    hostile.check["value"] = "<i>";
    hostile.summary = "<script>alert(1)</script> shifts";
    hostile.comparator = "<b>";
    hostile.check["breakdown"] = nlohmann::ordered_json::array({{{"group", "<script>"}, {"value", 1}}});
    hostile.check["samples"] = nlohmann::ordered_json::array({{{"<i>", "<script>"}}});
    hostile.check["details"] = {{"<b>", 1}};
    hostile.sample_lines = {"<b>line</b>"};
    hostile.statements = {"SELECT * FROM \"<script>\""};
    hostile.runbook_url = "javascript:\"><script>";
    status_page_view view{"1.0<script>", "now\"", {{"db<1>", false, "<err>"}}, {hostile}, {}, {}, {}};
    for (const auto& page : {render_status_page(view), render_check_page(view, 0)}) {
        INFO(page);
        CHECK(page.find("<script") == std::string::npos);
        CHECK(page.find("<b>") == std::string::npos);
        CHECK(page.find("<i>") == std::string::npos);
        CHECK(page.find("<err>") == std::string::npos);
        CHECK(page.find(
                  "no such table: &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;") !=
              std::string::npos);
        CHECK(page.find("&lt;script&gt;alert(1)&lt;/script&gt; shifts") != std::string::npos);
    }
    CHECK(render_status_page(view).find("version 1.0&lt;script&gt;") != std::string::npos);
    CHECK(render_status_page(view).find("data-database=\"db&lt;1&gt;\"") != std::string::npos);
    CHECK(render_check_page(view, 0).find("FROM &quot;&lt;script&gt;&quot;") != std::string::npos);
}

TEST_CASE("status page: values in the check's format, the filter links, sparklines", "[status_page]") {
    auto rate = check("crew_sync", "firing", "crew");
    rate.check["value"] = 0.0833333333333333;
    rate.format = value_format::percent;
    rate.threshold = 0.05;
    rate.summary = "crew sync failure rate 8.3 %";
    rate.history = {{1, 0.02}, {2, std::nullopt}, {3, 0.0833}};
    auto shifts = check("shifts", "ok", "staffing");
    shifts.history = {{1, 6}};  // one value: an empty sparkline
    status_page_view view{"0.1.0", "now", {{"crew", true, ""}, {"staffing", true, ""}}, {rate, shifts}, {},
                          {},      {}};
    auto page = render_status_page(view);
    CHECK(page.find("<td class=\"value\">8.3 %<div class=\"condition\">alert when &gt; 5 %</div>") !=
          std::string::npos);
    CHECK(page.find("0.0833") == std::string::npos);
    CHECK(page.find("<div class=\"headline\">crew sync failure rate 8.3 %</div>") != std::string::npos);
    CHECK(page.find("<polyline class=\"line\" points=\"") != std::string::npos);
    CHECK(page.find("height=\"28\" xmlns=\"http://www.w3.org/2000/svg\"></svg>") != std::string::npos);
    CHECK(page.find("<a href=\"/?state=firing\">firing</a>") != std::string::npos);
    CHECK(page.find("<a href=\"/?database=crew\">crew</a>") != std::string::npos);
    CHECK(page.find("Content") == std::string::npos);  // the CSP is a header, not a meta tag

    view.filter_state = "firing";
    page = render_status_page(view);
    CHECK(page.find("data-check=\"crew_sync\"") != std::string::npos);
    CHECK(page.find("data-check=\"shifts\"") == std::string::npos);
    CHECK(page.find("<a href=\"/?state=firing&amp;database=crew\">crew</a>") != std::string::npos);
    view.filter_state.clear();
    view.filter_database = "staffing";
    page = render_status_page(view);
    CHECK(page.find("data-check=\"crew_sync\"") == std::string::npos);
    CHECK(page.find("data-check=\"shifts\"") != std::string::npos);
}

TEST_CASE("check page: breakdown bars largest first, samples with their lines, details as durations, history",
          "[status_page]") {
    auto backlog = check("stuck_scans", "firing", "stock_audit");
    backlog.check["breakdown"] = nlohmann::ordered_json::array({{{"group", "small"}, {"value", 1}},
                                                                {{"group", "large"}, {"value", 9}},
                                                                {{"group", "middle"}, {"value", 4}}});
    backlog.check["details"] = {{"pending_total", 3}, {"oldest_age_seconds", 1234.5}};
    backlog.check["samples"] =
        nlohmann::ordered_json::array({{{"id", 4}, {"age_seconds", 1200}, {"key", "4"}}});
    backlog.sample_lines = {"row 4 pending for 20m"};
    backlog.history = {{1, 1}, {2, 2}, {3, std::nullopt}, {4, 3}};
    backlog.statements = {"SELECT 1", "SELECT 2"};
    backlog.runbook_url = "https://wiki.example.com/scans";
    status_page_view view{"0.1.0", "now", {}, {backlog}, {}, {}, {}};
    const auto page = render_check_page(view, 0);
    const auto large = page.find("data-group=\"large\"");
    CHECK(large < page.find("data-group=\"middle\""));
    CHECK(page.find("data-group=\"middle\"") < page.find("data-group=\"small\""));
    CHECK(page.find("<td class=\"line\">row 4 pending for 20m</td><td>4</td><td>1200</td><td>4</td>") !=
          std::string::npos);
    CHECK(page.find("<th>oldest_age_seconds</th><td class=\"value\">20m34s</td>") != std::string::npos);
    CHECK(page.find("<th>pending_total</th><td class=\"value\">3</td>") != std::string::npos);
    // Every result is a point, failed runs at the bottom; the threshold is drawn.
    const auto chart = page.substr(page.find("<svg class=\"history\""));
    std::size_t circles = 0;
    for (auto at = chart.find("<circle"); at != std::string::npos && at < chart.find("</svg>");
         at = chart.find("<circle", at + 1))
        ++circles;
    CHECK(circles == 4);
    CHECK(chart.find("class=\"dot failed\"") != std::string::npos);
    CHECK(chart.find("<line class=\"threshold\"") < chart.find("</svg>"));
    CHECK(page.find("<pre class=\"statement\">SELECT 2</pre>") != std::string::npos);
    CHECK(page.find("<a href=\"https://wiki.example.com/scans\">runbook</a>") != std::string::npos);
}
