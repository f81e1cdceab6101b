// SPEC §11's cost guard (max_cost) and `invariantd explain`, against the real test cluster.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/loop.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd;
using namespace invariantd::test;

namespace {

/// A database of its own with a table of 200 000 rows and fresh planner statistics.
std::string big_table_database(const std::string& name) {
    const auto dsn = pg_fresh_database(name);
    pg_exec(dsn,
            "CREATE TABLE cost_big (id int PRIMARY KEY, label text, flagged boolean);"
            "INSERT INTO cost_big SELECT g, 'row ' || g, g % 1000 = 0 FROM generate_series(1, 200000) g;"
            "ANALYZE cost_big;");
    return dsn;
}

std::string quoted(const std::string& text) {
    return nlohmann::json(text).dump();
}

/// Calls recorded by pg_stat_statements in database `name` for statements whose text starts with `prefix`.
long long calls(const std::string& name, const std::string& prefix) {
    return pg_scalar(pg_dsn(),
                     "SELECT COALESCE(SUM(s.calls), 0) FROM pg_stat_statements s JOIN pg_database d ON "
                     "d.oid = s.dbid WHERE d.datname = '" +
                         name + "' AND s.query LIKE '" + prefix + "%'");
}

}  // namespace

TEST_CASE("max_cost refuses a statement the planner estimates too expensive, and it never runs",
          "[postgres][max_cost]") {
    const auto dsn = big_table_database("cost_guard");
    const std::string query = "SELECT count(*) FROM cost_big WHERE label LIKE '%7%'";
    auto config_with = [&](const std::string& limits) {
        return config::load_config_text("databases:\n  db: { driver: postgres, dsn: " + quoted(dsn) +
                                            " }\nchecks:\n  - { name: c, module: sql, database: db" + limits +
                                            ", params: { mode: scalar, query: " + quoted(query) + " } }\n",
                                        "test.yaml", "/");
    };
    const auto refused = run_first_check(config_with(", max_cost: 10"));
    CHECK(refused.status == checks::run_status::error);
    CHECK_THAT(refused.error, Catch::Matches("estimated cost [0-9.]+ exceeds max_cost 10"));
    // The planner was asked; the statement itself never ran.
    CHECK(calls("cost_guard", "EXPLAIN (FORMAT JSON) SELECT count(*) FROM cost_big") == 1);
    CHECK(calls("cost_guard", "SELECT count(*) FROM cost_big") == 0);

    // Under the limit it runs; the estimate is trusted for max_cost_recheck, so three runs on
    // one database handle ask the planner once.
    const auto config = config_with(", max_cost: 1000000, max_cost_recheck: 1h");
    const auto expected = pg_scalar(dsn, query);
    asio::io_context loop;
    auto database = make_database(loop.get_executor(), config.databases.at(0));
    for (int i = 0; i < 3; ++i) {
        const auto result = run_and_hand_back(loop, *database, config.checks.at(0));
        REQUIRE(result.status == checks::run_status::ok);
        CHECK(result.output.value == static_cast<double>(expected));
    }
    database->close();
    CHECK(calls("cost_guard", "EXPLAIN (FORMAT JSON) SELECT count(*) FROM cost_big") == 2);
    CHECK(calls("cost_guard", "SELECT count(*) FROM cost_big") == 4);  // 3 runs and ours
}

TEST_CASE("invariantd explain prints statements, estimates and sequential scans over large tables",
          "[postgres][explain][cli]") {
    const auto dsn = big_table_database("cost_explain");
    temp_dir dir;
    const auto config = dir.write("invariantd.yaml",
                                  "databases:\n  db: { driver: postgres, dsn: ${EXPLAIN_DSN} }\n"
                                  "checks:\n"
                                  "  - { name: flagged, module: sql, database: db, params: { query: \"SELECT "
                                  "id FROM cost_big WHERE flagged "
                                  "ORDER BY id\" } }\n"
                                  "  - { name: by_key, module: sql, database: db, params: { mode: scalar, "
                                  "query: \"SELECT count(*) FROM "
                                  "cost_big WHERE id = 5\" } }\n");
    const std::map<std::string, std::string> env{{"EXPLAIN_DSN", dsn}};
    const auto all = run_command({daemon_binary(), "explain", "-c", config}, {}, env);
    INFO(all.out << all.err);
    CHECK(all.exit_code == 0);
    CHECK_THAT(all.out, Catch::Contains("flagged (sql on db, postgres)"));
    CHECK_THAT(all.out,
               Catch::Matches("(.|\n)*1\\. estimated cost [0-9]+\\.[0-9]{2}, rows [0-9]+\n"
                              "     SELECT id FROM cost_big WHERE flagged ORDER BY id\n"
                              "     sequential scan on cost_big \\(~200000 rows\\) — recommended index: "
                              "whatever the query needs(.|\n)*"));
    // The primary key serves the second: no sequential scan flagged for it.
    const auto by_key = all.out.substr(all.out.find("by_key ("));
    CHECK_THAT(by_key, Catch::Contains("SELECT count(*) FROM cost_big WHERE id = 5"));
    CHECK_THAT(by_key, !Catch::Contains("sequential scan"));

    const auto one = run_command({daemon_binary(), "explain", "-c", config, "--check", "by_key"}, {}, env);
    CHECK(one.exit_code == 0);
    CHECK_THAT(one.out, !Catch::Contains("flagged"));
    const auto unknown = run_command({daemon_binary(), "explain", "-c", config, "--check", "nope"}, {}, env);
    CHECK(unknown.exit_code == 64);
    CHECK_THAT(unknown.err, Catch::Contains("no check named 'nope'"));

    // An unreachable database: exit 2, and the message carries no password.
    auto unreachable = dsn;
    unreachable.replace(unreachable.find("port=") + 5, pg_port().size(), "1");
    const auto down =
        run_command({daemon_binary(), "explain", "-c", config}, {}, {{"EXPLAIN_DSN", unreachable}});
    CHECK(down.exit_code == 2);
    CHECK_THAT(down.out, Catch::Contains("could not explain: cannot connect to database 'db'"));
    CHECK_THAT(down.out + down.err, !Catch::Contains(pg_password()));

    // A broken configuration: 78 with the position.
    const auto broken = dir.write("broken.yaml",
                                  "databases:\n  db: { driver: postgres, dsn: x }\nchecks:\n"
                                  "  - { name: c, module: sql, database: db, max_cost: -1, params: "
                                  "{ query: \"SELECT 1\" } }\n");
    const auto invalid = run_command({daemon_binary(), "explain", "-c", broken});
    CHECK(invalid.exit_code == 78);
    CHECK_THAT(invalid.err, Catch::Contains("broken.yaml:4:53: 'max_cost' must be a positive number"));
}
