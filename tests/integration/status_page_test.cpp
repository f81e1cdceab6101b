// The status pages rendered by the real (headless) Chromium: the DOM it parsed, the pixels it
// painted and (through playwright-core) the layout it computed; and the history behind the charts.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/browser.hpp"
#include "tests/support/daemon_fixture.hpp"
#include "tests/support/demo_world.hpp"

using namespace invariantd::test;

namespace {

// The badge colours of the page's stylesheet (daemon/core/status_page.cpp).
constexpr std::uint32_t firing_red = 0xc53030, error_purple = 0x6b46c1, pending_amber = 0xb7791f,
                        ok_green = 0x1f7a3a;

/// The state of the row for `check` in a DOM dump, "" when the row is missing.
std::string row_state(const std::string& dom, const std::string& check) {
    const std::regex row("<tr class=\"check ([a-z]+)\" data-check=\"" + check +
                         "\" data-state=\"([a-z]+)\">(.*?)</tr>");
    std::smatch match;
    if (!std::regex_search(dom, match, row) || match[1] != match[2]) return "";
    // The state is also written out as text inside its coloured badge.
    const std::string badge = "<span class=\"badge " + match[1].str() + "\">" + match[1].str() + "</span>";
    return match[3].str().find(badge) != std::string::npos ? match[1].str() : "";
}

}  // namespace

TEST_CASE("the status page lists every check with its state in colour and text, escaped, in Chromium",
          "[status_page][chromium]") {
    daemon_fixture f(
        std::string(missing_server_check) +
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
            if (metric_value(
                    text, std::string("invariantd_check_last_run_timestamp_seconds{check=\"") + check + "\"}")
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
    CHECK(capture.dom.find("<a class=\"json\" href=\"/api/v1/checks/missing_server\">JSON</a>") !=
          std::string::npos);
    CHECK(capture.dom.find("<td class=\"value\">2<div class=\"condition\">alert when &gt; 0</div>") !=
          std::string::npos);
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

namespace {

/// What playwright-core measured of a page in Chromium (tests/browser/measure.mjs).
nlohmann::json measure(const std::string& url, int width, int height) {
    const auto out = run_command({"node", source_path("tests/browser/measure.mjs"), url,
                                  std::to_string(width), std::to_string(height)});
    INFO(out.err);
    REQUIRE(out.exit_code == 0);
    return nlohmann::json::parse(out.out);
}

}  // namespace

TEST_CASE(
    "the demo's overview and shift_coverage page: summaries, formatted values, bars, samples, history, "
    "1024 px, CSP",
    "[status_page][chromium][demo]") {
    temp_dir dir;
    daemon_process daemon(write_demo_world(dir), (dir.path() / "daemon.log").string());
    const auto checks = [&] { return nlohmann::json::parse(http_get(daemon.port(), "/api/v1/checks").body); };
    REQUIRE(poll_until([&] {
        for (const auto& check : checks())
            if (check["last_run"].is_null()) return false;
        return true;
    }));
    // A few more runs of shift_coverage, so its history has several points.
    for (int i = 0; i < 3; ++i)
        REQUIRE(http_call(daemon.port(), "POST", "/api/v1/checks/shift_coverage/run?wait=1").status == 200);
    const std::string base = "http://127.0.0.1:" + std::to_string(daemon.port());

    const auto overview = http_get(daemon.port(), "/");
    CHECK(overview.header("content-security-policy") ==
          "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    const auto dom = capture_page(base + "/", dir.path().string()).dom;
    // Every check's rendered summary is on the page, values formatted for people.
    for (const auto& check : checks()) {
        INFO(check["name"]);
        CHECK(dom.find("data-check=\"" + check["name"].get<std::string>() + "\"") != std::string::npos);
    }
    CHECK(dom.find("<div class=\"headline\">6 shifts missing across 2 events</div>") != std::string::npos);
    CHECK(dom.find("<div class=\"headline\">crew sync failure rate 7.1 % over the last hour</div>") !=
          std::string::npos);
    CHECK(dom.find("<td class=\"value\">7.1 %<div class=\"condition\">alert when &gt; 5 %</div>") !=
          std::string::npos);
    CHECK(dom.find("<td class=\"value\">96 %<div class=\"condition\">alert when &lt; 98 %</div>") !=
          std::string::npos);
    CHECK(dom.find("0.0714") == std::string::npos);
    CHECK(dom.find("scans stuck, the oldest for ") != std::string::npos);
    // Filters are plain links.
    const auto firing_only = capture_page(base + "/?database=staffing", dir.path().string()).dom;
    CHECK(firing_only.find("data-check=\"shift_coverage\"") != std::string::npos);
    CHECK(firing_only.find("data-check=\"crew_assignment_duplicates\"") == std::string::npos);
    CHECK(http_get(daemon.port(), "/?state=purple").status == 400);

    const auto page = http_get(daemon.port(), "/checks/shift_coverage");
    CHECK(page.status == 200);
    CHECK(page.header("content-security-policy") ==
          "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    CHECK(http_get(daemon.port(), "/checks/nope").status == 404);
    const auto check_dom = capture_page(base + "/checks/shift_coverage", dir.path().string()).dom;
    CHECK(check_dom.find("<p class=\"headline\" id=\"summary\">6 shifts missing across 2 events</p>") !=
          std::string::npos);
    CHECK(check_dom.find("Event 221 Downtown Concert After-Party \u2014 Bartender 1/3 (2 missing)") !=
          std::string::npos);
    CHECK(check_dom.find("<td>Downtown Concert After-Party</td>") != std::string::npos);
    CHECK(check_dom.find("FROM \"shifts\" s") != std::string::npos);  // the statement text
    for (const char* role : {"Bartender", "Banquet Server/Runner", "Security"})
        CHECK(check_dom.find(std::string("<g class=\"bar-row\" data-group=\"") + role + "\">") !=
              std::string::npos);

    // Layout in Chromium: no sideways scrolling at 1024 px; as many history points as the API has.
    const auto history = nlohmann::json::parse(
        http_get(daemon.port(), "/api/v1/checks/shift_coverage/history?limit=500").body);
    CHECK(history.size() >= 4);
    for (const auto* path : {"/", "/checks/shift_coverage"}) {
        INFO(path);
        const auto measured = measure(base + path, 1024, 768);
        CHECK(measured["status"] == 200);
        CHECK(measured["scrollWidth"].get<int>() <= measured["innerWidth"].get<int>());
        CHECK(measured["scripts"] == 0);
        CHECK(measured["csp"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    }
    const auto measured = measure(base + "/checks/shift_coverage", 1024, 768);
    CHECK(measured["historyPoints"].get<std::size_t>() == history.size());
    CHECK(measured["bars"] == nlohmann::json::array({"Banquet Server/Runner", "Bartender", "Security"}));
}

TEST_CASE("history: the last results per check, limited, across a restart, bounded to 500", "[history]") {
    daemon_fixture f(std::string(missing_server_check) +
                     "  - name: broken\n    module: sql\n    database: pos\n    interval: 1h\n"
                     "    params: { query: \"SELECT * FROM \\\"<script>\\\"\" }\n");
    REQUIRE(poll_until([&] {
        return !nlohmann::json::parse(http_get(f.port(), "/api/v1/checks/broken").body)["last_run"].is_null();
    }));
    const auto history = [&](const std::string& check, const std::string& query = "") {
        const auto reply = http_get(f.port(), "/api/v1/checks/" + check + "/history" + query);
        REQUIRE(reply.status == 200);
        return nlohmann::json::parse(reply.body);
    };
    REQUIRE(poll_until([&] { return history("missing_server").size() == 1; }));
    auto points = history("missing_server");
    CHECK(points[0]["value"] == 2);
    CHECK(points[0]["outcome"] == "violation");
    CHECK(points[0]["time"].get<std::string>().ends_with("Z"));
    CHECK(history("broken")[0]["value"].is_null());
    CHECK(history("broken")[0]["outcome"] == "error");
    // Hostile names in the statement and the error come out as text on the check page.
    const auto broken_page = http_get(f.port(), "/checks/broken").body;
    CHECK(broken_page.find("<script") == std::string::npos);
    CHECK(broken_page.find("SELECT * FROM &quot;&lt;script&gt;&quot;") != std::string::npos);

    sqlite_exec(f.db_path, "UPDATE sales SET server_id = 1 WHERE id = 2;");
    for (int i = 0; i < 504; ++i)
        REQUIRE(http_call(f.port(), "POST", "/api/v1/checks/missing_server/run?wait=1").status == 200);
    CHECK(history("missing_server").size() == 100);  // the default limit
    CHECK(history("missing_server", "?limit=3").size() == 3);
    CHECK(history("missing_server", "?limit=3").back()["value"] == 1);  // newest last
    CHECK(http_get(f.port(), "/api/v1/checks/missing_server/history?limit=0").status == 400);
    points = history("missing_server", "?limit=1000");
    CHECK(points.size() == 500);  // 505 results, 500 kept
    CHECK(points.front()["value"] == 1);
    CHECK(http_get(f.port(), "/api/v1/checks/missing_server/history?limit=x").status == 400);
    CHECK(http_get(f.port(), "/api/v1/checks/nope/history").status == 404);

    // A restart keeps them (history.db), still bounded.
    f.daemon->signal(SIGTERM);
    REQUIRE(f.daemon->wait_exit(std::chrono::seconds(20)) == std::optional<int>(0));
    f.daemon = std::make_unique<daemon_process>(f.config_path, (f.dir.path() / "daemon-2.log").string());
    REQUIRE(poll_until([&] {
        const auto now = history("missing_server", "?limit=500");
        return now.size() == 500 && now.back()["time"] != points.back()["time"];  // the start-up run is in
    }));
    const auto restarted = history("missing_server", "?limit=500");
    CHECK(restarted[498]["time"] == points[499]["time"]);  // the run at start-up is the newest
}
