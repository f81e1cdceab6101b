// Every module's offender ledger through the real daemon, on both drivers (README
// "Offenders"): a mutation that adds one offender makes exactly it new and pages again
// (notify_on_new) naming it; the runbook's fix moves exactly the fixed keys to cleared and
// counts them; a failed run changes nothing; a restart keeps first_seen; a params change
// starts the ledger afresh; `once --baseline` lets the recorded offenders through and stops
// the added ones. The outage of the PostgreSQL server itself is in
// integration_serial/postgres_outage_test.cpp (it stops the shared server).
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/http_client.hpp"
#include "tests/support/runbook_world.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

/// One module's check and what the test does to its world.
struct lifecycle_case {
    std::string check;
    std::string module;
    std::string database;        ///< the runbook world it reads
    std::string params;          ///< YAML flow mapping
    std::string changed_params;  ///< a different definition: the ledger starts afresh
    std::string alert_when;
    std::string add_sql;               ///< adds exactly one offender...
    std::string added_key;             ///< ...named this
    std::string fix_sql;               ///< the runbook's fix for some offenders...
    std::set<std::string> fixed_keys;  ///< ...which must clear
    bool postgres_only = false;
};

/// The five runbook worlds of one driver, each its own database.
struct lifecycle_worlds {
    std::string driver;
    std::map<std::string, std::unique_ptr<runbook_world>> by_name;

    explicit lifecycle_worlds(const std::string& which) : driver(which) {
        for (const char* name : {"staffing", "crew", "scheduler", "audit", "pos"})
            by_name[name] = std::make_unique<runbook_world>(driver, std::string("lc_") + name);
        auto& crew = *by_name["crew"];
        auto& audit = *by_name["audit"];
        auto& pos = *by_name["pos"];
        by_name["staffing"]->exec(read_file(source_path("config/demo-data/staffing.sql")));
        by_name["scheduler"]->exec(read_file(source_path("config/demo-data/scheduler.sql")));
        crew.exec(
            "CREATE TABLE flex_crew_assignments (id INTEGER PRIMARY KEY, crew_call_id TEXT NOT NULL, "
            "technician_id TEXT NOT NULL);"
            "INSERT INTO flex_crew_assignments (id, crew_call_id, technician_id) VALUES "
            "(1, 'cc-1', 'tech-1'), (2, 'cc-1', 'tech-1'), (3, 'cc-2', 'tech-2'), (4, 'cc-2', 'tech-2'), "
            "(5, 'cc-2', 'tech-2'), (6, 'cc-1', 'tech-2'), (7, 'cc-3', 'tech-1');"
            "CREATE TABLE flex_sync_log (id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, "
            "department TEXT NOT NULL, failed_count INTEGER DEFAULT 0, duration_ms INTEGER);"
            "INSERT INTO flex_sync_log (id, created_at, department, failed_count, duration_ms) VALUES "
            "(1, " +
            crew.ago(600) + ", 'sound', 1, 900), (2, " + crew.ago(900) +
            ", 'lights', 2, 800), "
            "(3, " +
            crew.ago(1200) + ", 'sound', 0, 700), (4, " + crew.ago(7200) + ", 'sound', 1, 700);");
        audit.exec(
            "CREATE TABLE audit_sessions (id INTEGER PRIMARY KEY, location_id INTEGER, status TEXT);"
            "CREATE TABLE racks (id INTEGER PRIMARY KEY, audit_session_id INTEGER, label TEXT);"
            "CREATE TABLE scans (id INTEGER PRIMARY KEY, rack_id INTEGER, created_at TIMESTAMP, synced_at "
            "TIMESTAMP);"
            "INSERT INTO audit_sessions (id, location_id, status) VALUES (1, 10, 'active'), (3, 11, "
            "'active');"
            "INSERT INTO racks (id, audit_session_id, label) VALUES (100, 1, 'A1'), (101, 3, 'B1'), "
            "(102, 99, 'C1'), (103, NULL, 'unassigned'), (104, 98, 'C2');"
            "INSERT INTO scans (id, rack_id, created_at, synced_at) VALUES "
            "(1, 100, " +
            audit.ago(3600) + ", " + audit.ago(3500) + "), (2, 555, " + audit.ago(3600) + ", " +
            audit.ago(3500) + "), (3, NULL, " + audit.ago(600) + ", NULL), (4, 102, " + audit.ago(1200) +
            ", NULL), (5, 101, " + audit.ago(60) + ", NULL);");
        pos.exec(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
            "INSERT INTO users (id, email) VALUES (1, 'a@bar.example'), (2, 'b@bar.example');"
            "CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER, created_at TIMESTAMP NOT NULL);"
            "INSERT INTO sales (id, server_id, created_at) VALUES (1, NULL, " +
            pos.ago(600) + "), (2, NULL, " + pos.ago(1200) + "), (3, 1, " + pos.ago(1800) + "), (4, 999, " +
            pos.ago(2400) + "), (5, 998, " + pos.ago(3000) + ");");
        if (driver == "postgres")
            pos.exec(
                "ALTER TABLE sales ENABLE ROW LEVEL SECURITY; CREATE INDEX sales_created_at ON sales "
                "(created_at);");
    }

    runbook_world& operator[](const std::string& name) { return *by_name.at(name); }

    /// The SQL that makes every run of the checks on `name` fail (a table they read is
    /// gone), and the SQL that undoes it.
    static std::pair<std::string, std::string> break_world(const std::string& name) {
        static const std::map<std::string, std::vector<std::string>> tables{
            {"staffing", {"shifts"}},
            {"crew", {"flex_crew_assignments", "flex_sync_log"}},
            {"scheduler", {"schedules"}},
            {"audit", {"racks", "scans"}},
            {"pos", {"sales", "users"}}};
        std::string broken, repaired;
        for (const auto& table : tables.at(name)) {
            broken += "ALTER TABLE " + table + " RENAME TO " + table + "_moved;";
            repaired += "ALTER TABLE " + table + "_moved RENAME TO " + table + ";";
        }
        return {broken, repaired};
    }
};

std::vector<lifecycle_case> cases(lifecycle_worlds& worlds) {
    auto& crew = worlds["crew"];
    auto& audit = worlds["audit"];
    auto& pos = worlds["pos"];
    std::vector<lifecycle_case> out{
        {"shifts",
         "shift_coverage",
         "staffing",
         "{}",
         "{ statuses: [published, active, draft] }",
         "> 0",
         "INSERT INTO event_skill_requirements (id, event_id, skill_name, needed_workers) VALUES (1100, 221, "
         "'Barback', 1);",
         "1100",
         // The runbook's backfill for event 221's Bartender requirement.
         "INSERT INTO shifts (id, event_id, event_skill_requirement_id) VALUES (7001, 221, 1004), (7002, "
         "221, 1004);",
         {"1004"}},
        {"crew_duplicates",
         "duplicates",
         "crew",
         "{}",
         "{ key: [technician_id, crew_call_id] }",
         "> 0",
         "INSERT INTO flex_crew_assignments (id, crew_call_id, technician_id) VALUES (8, 'cc-3', 'tech-1');",
         R"(["cc-3","tech-1"])",
         // The runbook's cleanup of one group: keep the earliest row.
         "DELETE FROM flex_crew_assignments WHERE crew_call_id = 'cc-2' AND id > 3;",
         {R"(["cc-2","tech-2"])"}},
        {"crew_sync",
         "sync_failure_rate",
         "crew",
         "{ min_total: 1 }",
         "{ min_total: 1, window: 3h }",
         "> 0",
         "INSERT INTO flex_sync_log (id, created_at, department, failed_count, duration_ms) VALUES (9, " +
             crew.ago(30) + ", 'video', 1, 500);",
         "9",
         "UPDATE flex_sync_log SET failed_count = 0 WHERE id = 2;",
         {"2"}},
        {"pairing",
         "event_pairing",
         "scheduler",
         "{}",
         "{ offset: 90m }",
         "> 0",
         "INSERT INTO events (project_ref_num, project_name, is_scheduled) VALUES (613000, '613000-CORE-New "
         "Launch', 1);",
         "613000",
         // The runbook's fix for the orphan CORE event: its Supervisor twin, two hours later.
         "INSERT INTO events (project_ref_num, project_name, is_scheduled) VALUES "
         "(607000, '606999-Supervisor-Test Product Orphan', 1);"
         "INSERT INTO schedules (event_ref_num, employee_id, schedule_datetime) VALUES (607000, 'E299', "
         "'2025-10-14 13:00:00');",
         {"606999"}},
        {"audit_orphans",
         "orphans",
         "audit",
         "{}",
         "{ relations: [ { child: racks, column: audit_session_id, parent: audit_sessions } ] }",
         "> 0",
         "INSERT INTO racks (id, audit_session_id, label) VALUES (105, 97, 'C3');",
         "racks.audit_session_id:105",
         "UPDATE racks SET audit_session_id = NULL WHERE id = 104;",
         {"racks.audit_session_id:104"}},
        {"stuck_scans",
         "backlog",
         "audit",
         "{}",
         "{ max_age: 6m }",
         "> 0",
         "INSERT INTO scans (id, rack_id, created_at, synced_at) VALUES (6, 101, " + audit.ago(900) +
             ", NULL);",
         "6",
         "UPDATE scans SET synced_at = " + audit.ago(0) + " WHERE id = 4;",
         {"4"}},
        {"server_coverage",
         "coverage",
         "pos",
         "{}",
         "{ window: 2d }",
         "< 100",
         "INSERT INTO sales (id, server_id, created_at) VALUES (6, NULL, " + pos.ago(60) + ");",
         "6",
         "UPDATE sales SET server_id = 2 WHERE id = 1;",
         {"1"}},
        {"unknown_servers",
         "sql",
         "pos",
         "{ query: \"SELECT s.id, s.server_id FROM sales s WHERE s.server_id NOT IN (SELECT u.id FROM users "
         "u) "
         "ORDER BY s.id\", key_columns: [id] }",
         "{ query: \"SELECT s.id, s.server_id FROM sales s WHERE s.server_id NOT IN (SELECT u.id FROM users "
         "u) "
         "ORDER BY s.id DESC\", key_columns: [id] }",
         "> 0",
         "INSERT INTO sales (id, server_id, created_at) VALUES (7, 997, " + pos.ago(60) + ");",
         R"(["7"])",
         "UPDATE sales SET server_id = 1 WHERE id = 4;",
         {R"(["4"])"}},
        {"pos_schema",
         "schema",
         "pos",
         "{ expectations: [ { rls_enabled: sales }, { index: { table: sales, name: sales_created_at } }, "
         "{ unique: { table: users, columns: [email] } }, { unique: { table: sales, columns: [server_id] } } "
         "] }",
         "{ expectations: [ { rls_enabled: sales }, { index: { table: sales, name: sales_created_at } }, "
         "{ unique: { table: users, columns: [email] } } ] }",
         "> 0",
         "ALTER TABLE sales DISABLE ROW LEVEL SECURITY;",
         "rls_enabled:sales",
         "CREATE UNIQUE INDEX users_email_key ON users (email);",
         {"unique:users(email)"},
         true},
    };
    if (worlds.driver == "sqlite")
        std::erase_if(out, [](const lifecycle_case& c) { return c.postgres_only; });
    return out;
}

struct lifecycle_daemon {
    temp_dir dir;
    std::unique_ptr<daemon_process> daemon;
    int starts = 0;

    void write_config(lifecycle_worlds& worlds, const std::vector<lifecycle_case>& checks,
                      const std::string& hook_url, bool changed = false) {
        std::string text =
            "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\nlog: { level: debug }\ndatabases:\n";
        for (const auto& [name, world] : worlds.by_name)
            text += "  " + name + ": " + world->database_yaml() + "\n";
        text += "receivers:\n  hook: { type: webhook, url: \"" + hook_url +
                "\" }\n"
                "defaults: { interval: 1h, alert: { notify_on_new: true, receivers: [hook] } }\nchecks:\n";
        for (const auto& c : checks)
            text += "  - { name: " + c.check + ", module: " + c.module + ", database: " + c.database +
                    ", params: " + (changed ? c.changed_params : c.params) + ", alert: { when: \"" +
                    c.alert_when + "\" } }\n";
        dir.write("invariantd.yaml", text);
    }
    std::string config_path() const { return (dir.path() / "invariantd.yaml").string(); }
    void start() {
        ++starts;
        daemon = std::make_unique<daemon_process>(
            config_path(), (dir.path() / ("daemon-" + std::to_string(starts) + ".log")).string());
    }
    void stop() {
        daemon->signal(SIGTERM);
        REQUIRE(daemon->wait_exit(20s) == std::optional<int>(0));
    }
    std::uint16_t port() const { return daemon->port(); }
    nlohmann::json offenders(const std::string& check) const {
        const auto reply = http_get(port(), "/api/v1/checks/" + check + "/offenders?limit=1000");
        REQUIRE(reply.status == 200);
        return nlohmann::json::parse(reply.body);
    }
    nlohmann::json detail(const std::string& check) const {
        return nlohmann::json::parse(http_get(port(), "/api/v1/checks/" + check).body);
    }
    void run(const std::string& check) const {
        REQUIRE(http_call(port(), "POST", "/api/v1/checks/" + check + "/run?wait=1").status == 200);
    }
    bool all_ran(const std::vector<lifecycle_case>& checks) const {
        for (const auto& c : checks)
            if (detail(c.check)["last_run"].is_null()) return false;
        return true;
    }
    double metric(const std::string& series) const {
        return metric_value(http_get(port(), "/metrics").body, series).value_or(-1);
    }
};

std::map<std::string, std::string> first_seen_of(const nlohmann::json& page) {
    std::map<std::string, std::string> out;
    for (const auto& entry : page["offenders"]) out[entry["key"]] = entry["first_seen"];
    return out;
}

std::set<std::string> keys_where(const nlohmann::json& page, bool is_new) {
    std::set<std::string> out;
    for (const auto& entry : page["offenders"])
        if (entry["new"] == is_new) out.insert(entry["key"].get<std::string>());
    return out;
}

/// The webhook payloads the receiver got for `check`, oldest first.
std::vector<nlohmann::json> payloads_for(const test_receiver& hook, const std::string& check) {
    std::vector<nlohmann::json> out;
    for (const auto& request : hook.requests()) {
        auto json = request.json();
        if (json["invariantd"]["check"] == check) out.push_back(std::move(json));
    }
    return out;
}

}  // namespace

TEST_CASE("offender lifecycle of every module: new, cleared, failed run, restart, params change, baseline",
          "[offenders][lifecycle]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    lifecycle_worlds worlds(driver);
    const auto checks = cases(worlds);
    test_receiver hook;
    lifecycle_daemon d;
    d.write_config(worlds, checks, hook.url("/hook"));
    d.start();
    REQUIRE(poll_until([&] { return d.all_ran(checks); }));
    // Every check fires once on its first run.
    REQUIRE(hook.wait_for(checks.size()));

    // The recorded debt: `once --json` before anything changes.
    const auto baseline_run = run_command({daemon_binary(), "once", "-c", d.config_path(), "--json"});
    REQUIRE(baseline_run.exit_code == 1);
    const auto baseline = d.dir.write("baseline.json", baseline_run.out);
    CHECK(run_command({daemon_binary(), "once", "-c", d.config_path(), "--baseline", baseline}).exit_code ==
          0);

    std::map<std::string, std::map<std::string, std::string>> first_seen;
    for (const auto& c : checks) {
        INFO("check " << c.check);
        const auto page = d.offenders(c.check);
        CHECK_FALSE(page["offenders"].empty());
        CHECK(keys_where(page, false).empty());  // all new on the first run
        CHECK(payloads_for(hook, c.check).size() == 1);
        first_seen[c.check] = first_seen_of(page);
        for (const auto& key : c.fixed_keys) CHECK(first_seen[c.check].contains(key));
        CHECK_FALSE(first_seen[c.check].contains(c.added_key));
    }

    // One more offender per check: exactly it is new, the rest persist with their first_seen,
    // and the firing alert pages again naming it.
    for (const auto& c : checks) worlds[c.database].exec(c.add_sql);
    for (const auto& c : checks) d.run(c.check);
    REQUIRE(hook.wait_for(2 * checks.size()));
    for (const auto& c : checks) {
        INFO("check " << c.check);
        const auto page = d.offenders(c.check);
        CHECK(keys_where(page, true) == std::set<std::string>{c.added_key});
        for (const auto& [key, seen] : first_seen_of(page))
            if (key != c.added_key) CHECK(seen == first_seen[c.check].at(key));
        CHECK(d.metric("invariantd_check_offenders{check=\"" + c.check + "\",state=\"new\"}") == 1);
        const auto pages = payloads_for(hook, c.check);
        REQUIRE(pages.size() == 2);
        CHECK(pages[1]["status"] == "firing");
        CHECK(pages[1]["invariantd"]["offenders"]["new_keys"] == nlohmann::json::array({c.added_key}));
        CHECK(pages[1]["invariantd"]["samples"][0]["key"] == c.added_key);
        first_seen[c.check] = first_seen_of(page);
    }
    // The deploy gate stops exactly the added offenders.
    auto gate = run_command({daemon_binary(), "once", "-c", d.config_path(), "--baseline", baseline});
    CHECK(gate.exit_code == 1);
    for (const auto& c : checks)
        CHECK(gate.out.find(c.check + ": " + c.added_key + "\n") != std::string::npos);

    // The runbook's fix: exactly the fixed keys clear, and are counted.
    for (const auto& c : checks) worlds[c.database].exec(c.fix_sql);
    for (const auto& c : checks) d.run(c.check);
    for (const auto& c : checks) {
        INFO("check " << c.check);
        const auto page = d.offenders(c.check);
        std::set<std::string> cleared;
        for (const auto& entry : page["recently_cleared"]) {
            cleared.insert(entry["key"].get<std::string>());
            CHECK(entry["first_seen"] == first_seen[c.check].at(entry["key"]));
        }
        CHECK(cleared == c.fixed_keys);
        CHECK(keys_where(page, true).empty());
        CHECK(d.metric("invariantd_check_offenders_cleared_total{check=\"" + c.check + "\"}") ==
              static_cast<double>(c.fixed_keys.size()));
    }

    // A failed run (the tables it reads are gone) changes nothing.
    std::map<std::string, nlohmann::json> before_failure;
    for (const auto& c : checks) before_failure[c.check] = d.offenders(c.check);
    std::set<std::string> broken_worlds;
    for (const auto& c : checks) broken_worlds.insert(c.database);
    for (const auto& name : broken_worlds) worlds[name].exec(lifecycle_worlds::break_world(name).first);
    for (const auto& c : checks) {
        if (c.module == "schema") continue;  // the catalog has no table to lose; covered by the outage test
        INFO("check " << c.check);
        d.run(c.check);
        CHECK(d.detail(c.check)["error"].is_string());
        CHECK(d.offenders(c.check) == before_failure[c.check]);
    }
    for (const auto& name : broken_worlds) worlds[name].exec(lifecycle_worlds::break_world(name).second);

    // A restart keeps first_seen and the cleared lists; nothing is new, nothing pages.
    const auto pages_before_restart = hook.count();
    d.stop();
    d.start();
    REQUIRE(poll_until([&] { return d.all_ran(checks); }));
    for (const auto& c : checks) {
        INFO("check " << c.check);
        const auto page = d.offenders(c.check);
        CHECK(first_seen_of(page) == first_seen_of(before_failure[c.check]));
        CHECK(page["recently_cleared"] == before_failure[c.check]["recently_cleared"]);
        CHECK(keys_where(page, true).empty());
    }
    CHECK(hook.count() == pages_before_restart);

    // A changed definition starts every ledger afresh.
    d.write_config(worlds, checks, hook.url("/hook"), true);
    REQUIRE(http_call(d.port(), "POST", "/-/reload").status == 200);
    for (const auto& c : checks) {
        INFO("check " << c.check);
        REQUIRE(poll_until([&] {
            const auto page = d.offenders(c.check);
            return !page["offenders"].empty() && keys_where(page, false).empty();
        }));
        CHECK(d.offenders(c.check)["recently_cleared"].empty());
    }
}
