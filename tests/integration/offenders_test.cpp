// The offender ledger end to end: the real daemon on runbook 000's SQLite world, its
// /api/v1/checks/{name}/offenders answers and metrics across runs, a failed run, a restart
// and a change of the check's definition (README "Offenders").
#include <catch2/catch.hpp>

#include <signal.h>

#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

struct staffing_daemon {
    temp_dir dir;
    std::string db_path = (dir.path() / "staffing.db").string();
    std::unique_ptr<daemon_process> daemon;
    int starts = 0;

    staffing_daemon() { sqlite_exec(db_path, read_file(source_path("config/demo-data/staffing.sql"))); }

    void write_config(const std::string& params = "{}") {
        dir.write("invariantd.yaml", "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\n"
                                     "databases:\n  staffing: { driver: sqlite, path: staffing.db }\n"
                                     "checks:\n  - { name: shifts, module: shift_coverage, database: staffing, "
                                     "interval: 1h, params: " + params + " }\n");
    }
    void start() {
        ++starts;
        daemon = std::make_unique<daemon_process>((dir.path() / "invariantd.yaml").string(),
                                                  (dir.path() / ("daemon-" + std::to_string(starts) + ".log")).string());
    }
    void stop() {
        daemon->signal(SIGTERM);
        REQUIRE(daemon->wait_exit(20s) == std::optional<int>(0));
    }
    std::uint16_t port() const { return daemon->port(); }
    nlohmann::json offenders(const std::string& query = "") const {
        const auto reply = http_get(port(), "/api/v1/checks/shifts/offenders" + query);
        REQUIRE(reply.status == 200);
        return nlohmann::json::parse(reply.body);
    }
    void run() const { REQUIRE(http_call(port(), "POST", "/api/v1/checks/shifts/run?wait=1").status == 200); }
    bool ran_once() const {
        const auto reply = http_get(port(), "/api/v1/checks/shifts");
        return reply.status == 200 && !nlohmann::json::parse(reply.body)["last_run"].is_null();
    }
    double metric(const std::string& series) const {
        return metric_value(http_get(port(), "/metrics").body, series).value_or(-1);
    }
    /// The short requirements by the test's own SQL, most missing first.
    std::vector<std::string> short_requirements() const {
        const std::string shortfall =
            "(r.needed_workers - (SELECT COUNT(*) FROM shifts s WHERE s.event_skill_requirement_id = r.id))";
        const auto out = run_command(
            {"sqlite3", "-batch", db_path,
             "SELECT CAST(r.id AS TEXT) FROM event_skill_requirements r JOIN events e ON e.id = r.event_id "
             "WHERE e.status IN ('published', 'active') AND " + shortfall + " > 0 ORDER BY " + shortfall +
                 " DESC, CAST(r.id AS TEXT)"});
        std::vector<std::string> keys;
        std::istringstream lines(out.out);
        for (std::string line; std::getline(lines, line);) keys.push_back(line);
        return keys;
    }
};

std::vector<std::string> keys_of(const nlohmann::json& page) {
    std::vector<std::string> out;
    for (const auto& entry : page["offenders"]) out.push_back(entry["key"]);
    return out;
}

std::map<std::string, std::string> first_seen_of(const nlohmann::json& page) {
    std::map<std::string, std::string> out;
    for (const auto& entry : page["offenders"]) out[entry["key"]] = entry["first_seen"];
    return out;
}

}  // namespace

TEST_CASE("offenders: new, persisting and cleared across runs, a failed run, a restart and a params change",
          "[offenders]") {
    staffing_daemon w;
    w.write_config();
    w.start();
    REQUIRE(poll_until([&] { return w.ran_once(); }));

    // First run: every short requirement is new.
    auto page = w.offenders();
    const auto expected = w.short_requirements();
    REQUIRE(expected.size() == 3);
    CHECK(keys_of(page) == expected);
    CHECK(page["tracked"] == 3);
    CHECK(page["truncated"] == false);
    for (const auto& entry : page["offenders"]) CHECK(entry["new"] == true);
    CHECK(page["offenders"][0].contains("sample"));
    CHECK(page["recently_cleared"].empty());
    CHECK(w.metric("invariantd_check_offenders{check=\"shifts\",state=\"new\"}") == 3);
    CHECK(w.metric("invariantd_check_offenders{check=\"shifts\",state=\"persisting\"}") == 0);
    CHECK(w.metric("invariantd_check_oldest_offender_first_seen_timestamp_seconds{check=\"shifts\"}") > 1.7e9);
    const auto detail = nlohmann::json::parse(http_get(w.port(), "/api/v1/checks/shifts").body);
    CHECK(detail["samples"][0]["new"] == true);
    CHECK(detail["samples"][0]["first_seen"].get<std::string>().ends_with("Z"));
    const auto first_seen = first_seen_of(page);
    CHECK(http_get(w.port(), "/").body.find("<div class=\"offenders\">3 new &middot; oldest since ") != std::string::npos);

    // A new short requirement: exactly it is new; the others persist with their first_seen.
    sqlite_exec(w.db_path, "INSERT INTO event_skill_requirements (id, event_id, skill_name, needed_workers) "
                           "VALUES (1100, 221, 'Barback', 1);");
    w.run();
    page = w.offenders();
    CHECK(keys_of(page) == w.short_requirements());
    for (const auto& entry : page["offenders"]) {
        const std::string key = entry["key"];
        CHECK(entry["new"] == (key == "1100"));
        if (key != "1100") CHECK(entry["first_seen"] == first_seen.at(key));
    }
    CHECK(w.metric("invariantd_check_offenders{check=\"shifts\",state=\"new\"}") == 1);
    CHECK(w.metric("invariantd_check_offenders{check=\"shifts\",state=\"persisting\"}") == 3);
    CHECK(keys_of(w.offenders("?state=new")) == std::vector<std::string>{"1100"});

    // Paging: limit and after.
    auto first = w.offenders("?limit=2");
    REQUIRE(first["offenders"].size() == 2);
    CHECK(first["next"] == first["offenders"][1]["key"]);
    auto rest = w.offenders("?limit=2&after=" + first["next"].get<std::string>());
    CHECK(rest["offenders"].size() == 2);
    CHECK(rest["next"].is_null());
    CHECK(http_get(w.port(), "/api/v1/checks/shifts/offenders?limit=0").status == 400);
    CHECK(http_get(w.port(), "/api/v1/checks/shifts/offenders?state=old").status == 400);
    auto bad = http_get(w.port(), "/api/v1/checks/shifts/offenders?limit=ten");
    CHECK(bad.status == 400);
    CHECK(bad.body.find("limit") != std::string::npos);
    bad = http_get(w.port(), "/api/v1/checks/shifts/offenders?after=no-such-key");
    CHECK(bad.status == 400);
    CHECK(bad.body.find("'after'") != std::string::npos);
    CHECK(http_get(w.port(), "/api/v1/checks/nope/offenders").status == 404);

    // The backfill for 1004 (event 221 Bartender, 1 of 3): 1004 clears.
    sqlite_exec(w.db_path, "INSERT INTO shifts (id, event_id, event_skill_requirement_id) VALUES "
                           "(7001, 221, 1004), (7002, 221, 1004);");
    w.run();
    page = w.offenders();
    CHECK(keys_of(page) == w.short_requirements());
    REQUIRE(page["recently_cleared"].size() == 1);
    CHECK(page["recently_cleared"][0]["key"] == "1004");
    CHECK(page["recently_cleared"][0]["first_seen"] == first_seen.at("1004"));
    CHECK(w.metric("invariantd_check_offenders_cleared_total{check=\"shifts\"}") == 1);

    // A failed run changes nothing.
    const auto before_failure = w.offenders();
    sqlite_exec(w.db_path, "ALTER TABLE shifts RENAME TO shifts_moved;");
    w.run();
    CHECK(nlohmann::json::parse(http_get(w.port(), "/api/v1/checks/shifts").body)["error"].is_string());
    CHECK(w.offenders() == before_failure);
    sqlite_exec(w.db_path, "ALTER TABLE shifts_moved RENAME TO shifts;");

    // A restart keeps first_seen and the cleared list.
    w.stop();
    w.start();
    REQUIRE(poll_until([&] { return w.ran_once(); }));
    page = w.offenders();
    CHECK(first_seen_of(page) == first_seen_of(before_failure));
    CHECK(page["recently_cleared"] == before_failure["recently_cleared"]);
    for (const auto& entry : page["offenders"]) CHECK(entry["new"] == false);

    // A changed definition (params) starts the ledger afresh.
    w.write_config("{ statuses: [published] }");
    REQUIRE(http_call(w.port(), "POST", "/-/reload").status == 200);
    REQUIRE(poll_until([&] {
        const auto fresh = w.offenders();
        return !fresh["offenders"].empty() && fresh["offenders"][0]["new"] == true;
    }));
    page = w.offenders();
    CHECK(page["recently_cleared"].empty());
    for (const auto& entry : page["offenders"]) {
        CHECK(entry["new"] == true);
        CHECK(entry["key"] != "1008");  // event 224 is active, no longer watched
    }
}
