// The runbook modules on both drivers: each test rebuilds a runbook's world in a real SQLite
// file and in a fresh PostgreSQL database and asserts the exact figures, including the rows
// that must not count.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "daemon/alerting/run_outcome.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/runbook_world.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd;
using namespace invariantd::test;

namespace {

double detail(const checks::check_result& result, const std::string& name) {
    for (const auto& [key, value] : result.output.details) {
        if (key == name) return value;
    }
    FAIL("no detail " << name);
    return -1;
}

double group(const checks::check_result& result, const std::string& name) {
    for (const auto& entry : result.output.breakdown) {
        if (entry.group == name) return entry.value;
    }
    return -1;
}

std::string demo_sql(const std::string& name) {
    return read_file(source_path("config/demo-data/" + name + ".sql"));
}

}  // namespace

TEST_CASE("shift_coverage: runbook 000, event 221 and the backfill", "[modules][shift_coverage]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    runbook_world w(driver, "staffing");
    w.exec(demo_sql("staffing"));
    auto result = w.run("shift_coverage", "{}", 2);
    CHECK(result.output.value == 6);
    CHECK(detail(result, "missing_shifts") == 6);
    CHECK(detail(result, "events_affected") == 2);  // 221 and 224; draft 222 and completed 220 do not count
    CHECK(detail(result, "requirements_affected") == 3);
    CHECK(detail(result, "surplus_shifts") == 1);   // event 223's extra Bartender
    CHECK(detail(result, "orphaned_shifts") == 2);  // NULL requirement and a deleted one
    CHECK(group(result, "Bartender") == 2);
    CHECK(group(result, "Banquet Server/Runner") == 2);
    CHECK(group(result, "Security") == 2);
    REQUIRE(result.output.samples.size() == 2);  // max_samples
    const auto& worst = result.output.samples[0];
    CHECK(worst["event_id"] == 221);
    CHECK(worst["title"] == "Downtown Concert After-Party");
    CHECK(worst["role"] == "Bartender");
    CHECK(worst["needed"] == 3);
    CHECK(worst["actual"] == 1);
    CHECK(worst["missing"] == 2);
    CHECK(result.output.samples[1]["role"] == "Banquet Server/Runner");
    CHECK(result.output.samples[1]["actual"] == 0);

    // The offenders are the short requirements by id, most missing first, ties by the key's bytes.
    const std::string shortfall =
        "(r.needed_workers - (SELECT COUNT(*) FROM shifts s WHERE s.event_skill_requirement_id = r.id))";
    const auto expected = w.column(
        "SELECT CAST(r.id AS TEXT) FROM event_skill_requirements r JOIN events e ON e.id = r.event_id "
        "WHERE e.status IN ('published', 'active') AND " +
        shortfall + " > 0 ORDER BY " + shortfall + " DESC, " + w.by_text("r.id"));
    CHECK(expected.size() == 3);
    CHECK(result.output.offenders == expected);
    CHECK_FALSE(result.output.offenders_truncated);
    for (const auto& sample : result.output.samples)
        CHECK(std::find(expected.begin(), expected.end(), sample["key"].get<std::string>()) !=
              expected.end());
    const auto capped = w.run("shift_coverage", "{}", 10, "    max_tracked: 1\n");
    CHECK(capped.output.offenders == std::vector<std::string>{expected[0]});
    CHECK(capped.output.offenders_truncated);

    // The runbook's backfill creates exactly the missing shifts.
    w.exec(
        "INSERT INTO shifts (id, event_id, event_skill_requirement_id) VALUES "
        "(6001, 221, 1004), (6002, 221, 1004), (6003, 221, 1005), (6004, 221, 1005), (6005, 224, 1008), "
        "(6006, 224, 1008);");
    result = w.run("shift_coverage");
    CHECK(result.output.value == 0);
    CHECK(detail(result, "events_affected") == 0);
    CHECK(result.output.samples.empty());
    CHECK(result.output.breakdown.empty());
    CHECK(result.output.offenders.empty());
}

TEST_CASE("duplicates: runbook 001, groups of 2 and 3, the cleanup and the constraint",
          "[modules][duplicates]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    runbook_world w(driver, "crew");
    w.exec(
        "CREATE TABLE flex_crew_assignments (id INTEGER PRIMARY KEY, crew_call_id TEXT NOT NULL, "
        "technician_id TEXT NOT NULL);"
        "INSERT INTO flex_crew_assignments (id, crew_call_id, technician_id) VALUES "
        "(1, 'cc-1', 'tech-1'), (2, 'cc-1', 'tech-1'), (3, 'cc-2', 'tech-2'), (4, 'cc-2', 'tech-2'), "
        "(5, 'cc-2', 'tech-2'), (6, 'cc-1', 'tech-2'), (7, 'cc-3', 'tech-1');"
        // A unique index on a superset of the key does not prevent these duplicates.
        "CREATE UNIQUE INDEX superset_key ON flex_crew_assignments (crew_call_id, technician_id, id);");
    auto result = w.run("duplicates");
    CHECK(result.output.value == 3);
    CHECK(detail(result, "duplicate_groups") == 2);
    CHECK(detail(result, "excess_rows") == 3);
    CHECK(detail(result, "unique_constraint_present") == 0);
    REQUIRE(result.output.samples.size() == 2);
    CHECK(result.output.samples[0]["crew_call_id"] == "cc-2");
    CHECK(result.output.samples[0]["technician_id"] == "tech-2");
    CHECK(result.output.samples[0]["count"] == 3);
    auto ids = result.output.samples[0]["ids"].get<std::vector<long long>>();
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<long long>{3, 4, 5});
    CHECK(result.output.samples[1]["count"] == 2);
    // Offenders: each group as the JSON array of its key values, largest group first.
    const auto groups = w.column(
        "SELECT '[\"' || crew_call_id || '\",\"' || technician_id || '\"]' FROM flex_crew_assignments "
        "GROUP BY crew_call_id, technician_id HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC, " +
        w.by_text("crew_call_id") + ", " + w.by_text("technician_id"));
    CHECK(groups == std::vector<std::string>{"[\"cc-2\",\"tech-2\"]", "[\"cc-1\",\"tech-1\"]"});
    CHECK(result.output.offenders == groups);
    CHECK(result.output.samples[0]["key"] == groups[0]);

    // The sql module names its rows by key_columns (default: every column), in the query's order.
    const std::string query =
        "{ query: \"SELECT crew_call_id, technician_id, COUNT(*) AS n FROM flex_crew_assignments "
        "GROUP BY crew_call_id, technician_id HAVING COUNT(*) > 1 ORDER BY n DESC\"";
    auto rows = w.run("sql", query + ", key_columns: [crew_call_id, technician_id] }");
    CHECK(rows.output.offenders == groups);
    CHECK(rows.output.samples[1]["key"] == groups[1]);
    rows = w.run("sql", query + " }");
    CHECK(rows.output.offenders ==
          std::vector<std::string>{"[\"cc-2\",\"tech-2\",\"3\"]", "[\"cc-1\",\"tech-1\",\"2\"]"});
    const auto missing = run_first_check(w.config("sql", query + ", key_columns: [nope] }"));
    CHECK(missing.status == checks::run_status::error);
    CHECK(missing.error.find("key_columns: the query returns no column 'nope'") != std::string::npos);

    // The runbook's cleanup keeps the earliest row of each group.
    w.exec(
        "DELETE FROM flex_crew_assignments WHERE id NOT IN "
        "(SELECT MIN(id) FROM flex_crew_assignments GROUP BY crew_call_id, technician_id);");
    result = w.run("duplicates");
    CHECK(result.output.value == 0);
    CHECK(detail(result, "unique_constraint_present") == 0);
    // The constraint, with the key columns in the other order: it counts.
    w.exec(driver == "postgres" ? "ALTER TABLE flex_crew_assignments ADD CONSTRAINT "
                                  "flex_crew_assignments_crew_call_technician_key "
                                  "UNIQUE (technician_id, crew_call_id);"
                                : "CREATE UNIQUE INDEX flex_crew_assignments_crew_call_technician_key "
                                  "ON flex_crew_assignments (technician_id, crew_call_id);");
    result = w.run("duplicates");
    CHECK(detail(result, "unique_constraint_present") == 1);
}

TEST_CASE("sync_failure_rate: runbook 001, the window, slow syncs and min_total",
          "[modules][sync_failure_rate]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    runbook_world w(driver, "synclog");
    std::string rows;
    auto add = [&](int seconds_ago, const char* department, int failed, int duration_ms) {
        rows += std::string(rows.empty() ? "" : ", ") + "(" + w.ago(seconds_ago) + ", '" + department +
                "', " + std::to_string(failed) + ", " + std::to_string(duration_ms) + ")";
    };
    // Inside the hour: sound 8 syncs (2 failed), lights 4 (1 failed); two slower than 10 s.
    for (int i = 0; i < 8; ++i) add(60 + i * 60, "sound", i < 2 ? 1 : 0, i == 0 ? 12000 : 800);
    for (int i = 0; i < 4; ++i) add(90 + i * 60, "lights", i == 0 ? 3 : 0, i == 1 ? 15000 : 500);
    // Two hours ago: failures that must not count.
    for (int i = 0; i < 5; ++i) add(7200 + i, "sound", 1, 99000);
    w.exec(
        "CREATE TABLE flex_sync_log (id INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, department TEXT "
        "NOT NULL, "
        "failed_count INTEGER DEFAULT 0, duration_ms INTEGER);"
        "INSERT INTO flex_sync_log (created_at, department, failed_count, duration_ms) VALUES " +
        rows + ";");
    auto result = w.run("sync_failure_rate");
    CHECK(result.output.value == Approx(0.25));
    CHECK(detail(result, "syncs_total") == 12);
    CHECK(detail(result, "syncs_failed") == 3);
    CHECK(detail(result, "slow_syncs") == 2);
    CHECK(detail(result, "max_duration_seconds") == Approx(15.0));
    CHECK(group(result, "sound") == Approx(0.25));
    CHECK(group(result, "lights") == Approx(0.25));
    CHECK_FALSE(result.output.condition_suppressed);
    // Offenders: the failed syncs in the window, newest first.
    const auto failed =
        w.column("SELECT CAST(id AS TEXT) FROM flex_sync_log WHERE failed_count > 0 AND created_at > " +
                 w.ago(3600) + " ORDER BY created_at DESC, " + w.by_text("id"));
    CHECK(failed.size() == 3);
    CHECK(result.output.offenders == failed);
    REQUIRE(result.output.samples.size() == 3);
    CHECK(result.output.samples[0]["key"] == failed[0]);
    CHECK(std::to_string(result.output.samples[0]["id"].get<long long>()) == failed[0]);
    CHECK(result.output.samples[0].contains("created_at"));
    CHECK(result.output.samples[0].contains("department"));

    // Fewer syncs than min_total: the value is reported but must not be judged.
    result = w.run("sync_failure_rate", "{ min_total: 20 }");
    CHECK(result.output.value == Approx(0.25));
    CHECK(result.output.condition_suppressed);
    const auto config = w.config("sync_failure_rate", "{ min_total: 20 }");
    auto judged = config.checks[0];
    judged.alert.when = config::parse_condition("> 0.05");
    CHECK(classify(judged, result) == run_outcome::ok);  // suppressed: not a violation although 0.25 > 0.05

    // A window with no syncs at all: rate 0.
    result = w.run("sync_failure_rate", "{ window: 10s }");
    CHECK(result.output.value == 0);
    CHECK(detail(result, "syncs_total") == 0);
}

TEST_CASE("event_pairing: runbook 002, the test events give the predicted figures",
          "[modules][event_pairing]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    runbook_world w(driver, "scheduler");
    w.exec(demo_sql("scheduler"));
    // The whole demo world: also a misaligned pair (612500, Supervisor 1 h 30 min after).
    auto result = w.run("event_pairing");
    CHECK(result.output.value == 1);
    CHECK(detail(result, "core_events") == 5);
    CHECK(detail(result, "orphan_core_events") == 1);
    CHECK(detail(result, "unscheduled_supervisors") == 1);
    CHECK(detail(result, "misaligned_supervisors") == 1);
    REQUIRE(result.output.samples.size() == 3);
    CHECK(result.output.samples[0]["event_number"] == "606999");
    CHECK(result.output.samples[0]["core_name"] == "606999-CORE-Test Product Orphan");
    CHECK(result.output.samples[0]["problem"] == "no_supervisor");
    CHECK(result.output.samples[1]["event_number"] == "608001");
    CHECK(result.output.samples[1]["problem"] == "supervisor_unscheduled");
    CHECK(result.output.samples[2]["event_number"] == "612500");
    CHECK(result.output.samples[2]["problem"] == "misaligned");
    // Offenders: every CORE event number with a problem, the runbook's prediction, worst first.
    CHECK(result.output.offenders == std::vector<std::string>{"606999", "608001", "612500"});
    CHECK(result.output.samples[0]["key"] == "606999");

    // Only the runbook's own test events: exactly what the runbook predicts.
    w.exec(
        "DELETE FROM schedules WHERE event_ref_num NOT IN (606001, 606002, 606999, 608001, 608002);"
        "DELETE FROM events WHERE project_ref_num NOT IN (606001, 606002, 606999, 608001, 608002);");
    result = w.run("event_pairing");
    CHECK(detail(result, "core_events") == 3);
    CHECK(detail(result, "orphan_core_events") == 1);
    CHECK(detail(result, "unscheduled_supervisors") == 1);
    CHECK(detail(result, "misaligned_supervisors") == 0);

    // A CORE event that is unscheduled while its Supervisor is scheduled counts nowhere.
    w.exec("DELETE FROM schedules WHERE event_ref_num = 606001;");
    result = w.run("event_pairing");
    CHECK(detail(result, "unscheduled_supervisors") == 1);
    CHECK(detail(result, "misaligned_supervisors") == 0);
    CHECK(result.output.value == 1);
}

TEST_CASE("orphans and backlog: runbook 003, racks, scans and stuck syncs", "[modules][orphans][backlog]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    runbook_world w(driver, "audit");
    w.exec(
        "CREATE TABLE audit_sessions (id INTEGER PRIMARY KEY, location_id INTEGER, status TEXT);"
        "CREATE TABLE racks (id INTEGER PRIMARY KEY, audit_session_id INTEGER, label TEXT);"
        "CREATE TABLE scans (id INTEGER PRIMARY KEY, rack_id INTEGER, created_at TIMESTAMP, synced_at "
        "TIMESTAMP);"
        "INSERT INTO audit_sessions (id, location_id, status) VALUES (1, 10, 'active'), (2, 10, 'active'), "
        "(3, 11, 'active'), (4, 12, 'closed');"
        "INSERT INTO racks (id, audit_session_id, label) VALUES (100, 1, 'A1'), (101, 3, 'B1'), (102, 99, "
        "'C1'), "
        "(103, NULL, 'unassigned'), (104, 98, 'C2');"
        "INSERT INTO scans (id, rack_id, created_at, synced_at) VALUES "
        "(1, 100, " +
        w.ago(3600) + ", " + w.ago(3500) +
        "), "
        "(2, 555, " +
        w.ago(3600) + ", " + w.ago(3500) +
        "), "
        "(3, NULL, " +
        w.ago(600) +
        ", NULL), "
        "(4, 102, " +
        w.ago(1200) +
        ", NULL), "
        "(5, 101, " +
        w.ago(60) + ", NULL);");
    auto result = w.run("orphans");
    CHECK(result.output.value == 3);  // racks 102 and 104, scan 2; NULL references do not count
    CHECK(detail(result, "racks.audit_session_id") == 2);
    CHECK(detail(result, "scans.rack_id") == 1);
    CHECK(group(result, "racks.audit_session_id") == 2);
    REQUIRE(result.output.samples.size() == 3);
    CHECK(result.output.samples[0] == nlohmann::ordered_json{{"relation", "racks.audit_session_id"},
                                                             {"id", 102},
                                                             {"value", 99},
                                                             {"key", "racks.audit_session_id:102"}});
    CHECK(result.output.samples[2] ==
          nlohmann::ordered_json{
              {"relation", "scans.rack_id"}, {"id", 2}, {"value", 555}, {"key", "scans.rack_id:2"}});
    const auto orphaned = w.column(
        "SELECT k FROM (SELECT 'racks.audit_session_id:' || CAST(c.id AS TEXT) AS k FROM racks c "
        "WHERE c.audit_session_id IS NOT NULL AND c.audit_session_id NOT IN (SELECT id FROM audit_sessions) "
        "UNION ALL SELECT 'scans.rack_id:' || CAST(c.id AS TEXT) FROM scans c "
        "WHERE c.rack_id IS NOT NULL AND c.rack_id NOT IN (SELECT id FROM racks)) AS o ORDER BY " +
        w.by_text("k"));
    CHECK(orphaned.size() == 3);
    CHECK(result.output.offenders == orphaned);

    // null_is_orphan counts the unassigned rack too.
    result = w.run("orphans",
                   "{ relations: [ { child: racks, column: audit_session_id, parent: audit_sessions, "
                   "null_is_orphan: true } ] }");
    CHECK(result.output.value == 3);

    result = w.run("backlog");
    CHECK(result.output.value == 2);  // scans 3 and 4 are pending for more than 5 minutes; 5 is recent
    CHECK(detail(result, "pending_total") == 3);
    CHECK(detail(result, "oldest_age_seconds") == Approx(1200).margin(120));
    const auto stuck =
        w.column("SELECT CAST(id AS TEXT) FROM scans WHERE synced_at IS NULL AND created_at < " + w.ago(300) +
                 " ORDER BY created_at, " + w.by_text("id"));
    CHECK(stuck == std::vector<std::string>{"4", "3"});  // oldest first
    CHECK(result.output.offenders == stuck);
    REQUIRE(result.output.samples.size() == 2);
    CHECK(result.output.samples[0]["id"] == 4);
    CHECK(result.output.samples[0]["age_seconds"].get<double>() == Approx(1200).margin(120));
    CHECK(result.output.samples[0]["key"] == "4");
    result = w.run("backlog", "{ max_age: 15m }");
    CHECK(result.output.value == 1);
}

TEST_CASE("coverage and orphans: runbook 004, server_id on recent sales", "[modules][coverage]") {
    const std::string driver = GENERATE(as<std::string>{}, "sqlite", "postgres");
    INFO("driver: " << driver);
    runbook_world w(driver, "pos");
    std::string sales;
    for (int i = 0; i < 50; ++i) {
        const std::string server = i < 2 ? "NULL" : (i == 2 ? "999" : std::to_string(1 + i % 3));
        sales += std::string(sales.empty() ? "" : ", ") + "(" + server + ", " + w.ago(600 + i * 60) + ")";
    }
    for (int i = 0; i < 10; ++i) sales += ", (NULL, " + w.ago(3 * 86400 + i) + ")";  // outside the window
    w.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);"
        "INSERT INTO users (id, email) VALUES (1, 'a@bar.example'), (2, 'b@bar.example'), (3, "
        "'c@bar.example');"
        "CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER, created_at TIMESTAMP NOT NULL);"
        "INSERT INTO sales (server_id, created_at) VALUES " +
        sales + ";");
    auto result = w.run("coverage");
    CHECK(result.output.value == Approx(96.0));
    CHECK(detail(result, "rows_total") == 50);
    CHECK(detail(result, "rows_covered") == 48);
    const auto uncovered =
        w.column("SELECT CAST(id AS TEXT) FROM sales WHERE server_id IS NULL AND created_at > " +
                 w.ago(86400) + " ORDER BY created_at DESC, " + w.by_text("id"));
    CHECK(uncovered == std::vector<std::string>{"1", "2"});  // newest first
    CHECK(result.output.offenders == uncovered);
    REQUIRE(result.output.samples.size() == 2);
    CHECK(result.output.samples[0]["key"] == "1");
    CHECK(result.output.samples[0].contains("created_at"));
    result = w.run("coverage", "{ window: 1s }");
    CHECK(result.output.value == 100);  // no rows: nothing uncovered
    CHECK(detail(result, "rows_total") == 0);

    result = w.run("orphans", "{ relations: [ { child: sales, column: server_id, parent: users } ] }");
    CHECK(result.output.value == 1);
    CHECK(detail(result, "sales.server_id") == 1);
    CHECK(result.output.samples[0]["value"] == 999);
}

TEST_CASE("schema: runbook 004 expectations met and unmet (postgres)", "[modules][schema][postgres]") {
    runbook_world w("postgres", "schema");
    w.exec(
        "CREATE TABLE users (id SERIAL PRIMARY KEY, email TEXT, CONSTRAINT users_email_key UNIQUE (email));"
        "CREATE TABLE sales (id SERIAL PRIMARY KEY, server_id INTEGER REFERENCES users(id), created_at "
        "TIMESTAMP);"
        "CREATE INDEX idx_sales_created_at ON sales (created_at);");
    const std::string params =
        "{ expectations: [ { rls_enabled: sales }, { unique: { table: users, columns: [email] } }, "
        "{ foreign_key: { table: sales, column: server_id, on_delete: SET NULL } }, "
        "{ index: { table: sales, name: idx_sales_created_at } }, { unique: { table: sales, columns: "
        "[server_id] } } ] }";
    auto result = w.run("schema", params);
    CHECK(result.output.value == 3);
    CHECK(detail(result, "rls_enabled:sales") == 0);
    CHECK(detail(result, "unique:users(email)") == 1);
    CHECK(detail(result, "foreign_key:sales.server_id") == 0);  // exists, but ON DELETE NO ACTION
    CHECK(detail(result, "index:sales.idx_sales_created_at") == 1);
    CHECK(detail(result, "unique:sales(server_id)") == 0);
    CHECK(result.output.offenders == std::vector<std::string>{"foreign_key:sales.server_id",
                                                              "rls_enabled:sales",
                                                              "unique:sales(server_id)"});

    w.exec(
        "ALTER TABLE sales ENABLE ROW LEVEL SECURITY;"
        "ALTER TABLE sales DROP CONSTRAINT sales_server_id_fkey;"
        "ALTER TABLE sales ADD CONSTRAINT sales_server_id_fkey FOREIGN KEY (server_id) REFERENCES users(id) "
        "ON DELETE SET NULL;");
    result = w.run("schema", params);
    CHECK(result.output.value == 1);
    CHECK(detail(result, "rls_enabled:sales") == 1);
    CHECK(detail(result, "foreign_key:sales.server_id") == 1);
}

TEST_CASE("schema on a SQLite database is a configuration error", "[modules][schema]") {
    try {
        config::load_config_text(
            "databases:\n  db: { driver: sqlite, path: x.db }\nchecks:\n"
            "  - { name: c, module: schema, database: db, params: { expectations: [ { rls_enabled: sales } ] "
            "} }\n",
            "test.yaml", "/");
        FAIL("expected a configuration error");
    } catch (const config::config_exception& e) {
        REQUIRE(e.errors().size() == 1);
        CHECK(e.errors()[0].to_string() ==
              "test.yaml:4:54: check 'c': module 'schema' reads the PostgreSQL catalog; "
              "its database must use driver postgres");
    }
}
