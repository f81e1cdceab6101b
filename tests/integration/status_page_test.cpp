// The status page at / rendered by the real (headless) Chromium: the DOM it parsed and the
// pixels it painted.
#include <catch2/catch.hpp>

#include <regex>

#include "tests/support/browser.hpp"
#include "tests/support/daemon_fixture.hpp"

using namespace invariantd::test;

namespace {

// The badge colours of the page's stylesheet (daemon/core/status_page.cpp).
constexpr std::uint32_t firing_red = 0xc53030, error_purple = 0x6b46c1, pending_amber = 0xb7791f, ok_green = 0x1f7a3a;

/// The state of the row for `check` in a DOM dump, "" when the row is missing.
std::string row_state(const std::string& dom, const std::string& check) {
    const std::regex row("<tr class=\"check ([a-z]+)\" data-check=\"" + check + "\" data-state=\"([a-z]+)\">(.*?)</tr>");
    std::smatch match;
    if (!std::regex_search(dom, match, row) || match[1] != match[2]) return "";
    // The state is also written out as text inside its coloured badge.
    const std::string badge = "<span class=\"badge " + match[1].str() + "\">" + match[1].str() + "</span>";
    return match[3].str().find(badge) != std::string::npos ? match[1].str() : "";
}

}  // namespace

TEST_CASE("the status page lists every check with its state in colour and text, escaped, in Chromium", "[status_page][chromium]") {
    daemon_fixture f(std::string(missing_server_check) +
                     "  - { name: all_sales, module: sql, database: pos, interval: 1h, params: { mode: scalar, query: "
                     "\"SELECT count(*) FROM sales\" }, alert: { when: \"> 100\" } }\n"
                     "  - name: waiting\n    module: sql\n    database: pos\n    interval: 1h\n"
                     "    params: { query: \"SELECT id FROM sales WHERE server_id IS NULL\" }\n"
                     "    alert: { when: \"> 0\", for: 1h }\n"
                     // SQLite puts the table name into its error: markup that must come out as text.
                     "  - name: broken\n    module: sql\n    database: pos\n    interval: 1h\n"
                     "    params:\n      query: |\n        SELECT * FROM \"<img src=x onerror=alert(1)>\"\n");
    REQUIRE(poll_until([&] {
        const auto text = f.metrics();
        for (const char* check : {"missing_server", "all_sales", "waiting", "broken"}) {
            // Pre-created at 0; set when the first run ends.
            if (metric_value(text, std::string("invariantd_check_last_run_timestamp_seconds{check=\"") + check + "\"}")
                    .value_or(0) <= 0)
                return false;
        }
        return true;
    }));
    const auto page = http_get(f.port(), "/");
    CHECK(page.status == 200);
    CHECK(page.header("content-type") == "text/html; charset=utf-8");
    // No external assets: nothing is loaded from anywhere but the page itself.
    CHECK(page.body.find("src=\"http") == std::string::npos);
    CHECK(page.body.find("<link") == std::string::npos);
    CHECK(page.body.find("<script") == std::string::npos);

    const std::string url = "http://127.0.0.1:" + std::to_string(f.port()) + "/";
    const auto shot = (f.dir.path() / "status.png").string();
    const auto capture = capture_page(url, f.dir.path().string(), shot);
    INFO(capture.log);
    REQUIRE(capture.exit_code == 0);
    INFO(capture.dom);
    CHECK(row_state(capture.dom, "missing_server") == "firing");
    CHECK(row_state(capture.dom, "all_sales") == "ok");
    CHECK(row_state(capture.dom, "waiting") == "pending");
    CHECK(row_state(capture.dom, "broken") == "error");
    // Firing first: the check that paged someone is the first row.
    CHECK(capture.dom.find("data-check=\"missing_server\"") < capture.dom.find("data-check=\"all_sales\""));
    CHECK(capture.dom.find("<a class=\"json\" href=\"/api/v1/checks/missing_server\">JSON</a>") != std::string::npos);
    CHECK(capture.dom.find("<td class=\"value\">2</td>") != std::string::npos);
    CHECK(capture.dom.find("data-database=\"pos\"><span class=\"badge ok\">up</span>") != std::string::npos);
    // The error's markup was printed as text: Chromium made no <img> element of it.
    CHECK(capture.dom.find("no such table: &lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
    CHECK(capture.dom.find("<img") == std::string::npos);

    const auto painted = read_png(shot);
    CHECK(painted.width == 1400);
    CHECK(painted.height == 900);
    CHECK(painted.count(firing_red) > 200);
    CHECK(painted.count(error_purple) > 200);
    CHECK(painted.count(pending_amber) > 200);
    CHECK(painted.count(ok_green) > 200);

    // The data is repaired and the check rerun: no red left anywhere on the page.
    sqlite_exec(f.db_path, "UPDATE sales SET server_id = 9 WHERE server_id IS NULL;");
    REQUIRE(http_call(f.port(), "POST", "/api/v1/checks/missing_server/run?wait=1").status == 200);
    const auto repaired_shot = (f.dir.path() / "repaired.png").string();
    const auto repaired = capture_page(url, f.dir.path().string(), repaired_shot);
    REQUIRE(repaired.exit_code == 0);
    CHECK(row_state(repaired.dom, "missing_server") == "ok");
    CHECK(read_png(repaired_shot).count(firing_red) == 0);
    CHECK(read_png(repaired_shot).count(ok_green) > painted.count(ok_green));
}
