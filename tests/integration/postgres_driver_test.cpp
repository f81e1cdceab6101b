// The PostgreSQL driver against the real PostgreSQL 15 cluster started by tests/run.sh.
#include <signal.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "daemon/db/postgres_database.hpp"
#include "tests/support/daemon_fixture.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"

using namespace invariantd;
using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

/// A table unique to the calling test, so tests can run in parallel on one cluster.
std::string fresh_table(const std::string& name) {
    pg_exec(pg_dsn(),
            "DROP TABLE IF EXISTS " + name + "; CREATE TABLE " + name +
                " (id serial PRIMARY KEY, server_id int, bar text, amount numeric(8,2), ok boolean);"
                "INSERT INTO " +
                name +
                " (server_id, bar, amount, ok) VALUES "
                "(7, 'north', 12.50, true), (NULL, 'north', 8, false), (NULL, 'south', 4.25, NULL), "
                "(NULL, 'north', 6, true), (9, 'south', 3, false);");
    return name;
}

config::daemon_config pg_config(const std::string& checks_yaml,
                                const std::string& dsn_key = "INVARIANTD_TEST_PG_DSN") {
    return config::load_config_text("databases:\n  db: { driver: postgres, dsn: \"${" + dsn_key +
                                        "}\", max_connections: 2 }\nchecks:\n" + checks_yaml,
                                    "test.yaml", "/");
}

std::string yaml_quote(const std::string& text) {
    return nlohmann::json(text).dump();
}

checks::check_result run_sql(const std::string& query, const std::string& extra = "") {
    return run_first_check(pg_config("  - { name: c, module: sql, database: db" + extra +
                                     ", params: { query: " + yaml_quote(query) + " } }\n"));
}

long long active_invariantd_queries(const std::string& like) {
    return pg_scalar(pg_dsn(),
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'invariantd' "
                     "AND state = 'active' AND query LIKE '" +
                         like + "'");
}

}  // namespace

TEST_CASE("postgres: typed values, bound parameters and single-statement queries", "[postgres]") {
    const auto table = fresh_table("driver_values");
    asio::io_context loop;
    auto database = db::postgres_database::create(loop.get_executor(), {"db", pg_dsn(), 2, 5s, 1h, 1s});
    auto work = [&]() -> asio::awaitable<db::rowset> {
        auto session = co_await database->open_session(steady_clock::now() + 10s);
        std::vector<db::value> params{std::string("north"), std::int64_t{1}};
        co_return co_await session->query(
            "SELECT id, bar, amount, ok, server_id FROM " + table + " WHERE bar = $1 AND id > $2 ORDER BY id",
            std::move(params), 100);
    };
    const auto rows = run_to_completion(loop, work());
    REQUIRE(rows.rows.size() == 2);
    CHECK(rows.columns == std::vector<std::string>{"id", "bar", "amount", "ok", "server_id"});
    CHECK(std::get<std::int64_t>(rows.rows[0][0]) == 2);
    CHECK(std::get<std::string>(rows.rows[0][1]) == "north");
    CHECK(std::get<double>(rows.rows[0][2]) == 8.0);
    CHECK(std::get<std::string>(rows.rows[0][3]) == "false");
    CHECK(std::holds_alternative<std::nullptr_t>(rows.rows[0][4]));
    database->close();
    loop.restart();
    loop.run();
}

TEST_CASE("postgres: the sql module in both modes, with a database-side breakdown", "[postgres]") {
    const auto table = fresh_table("module_sales");
    auto result =
        run_sql("SELECT id, bar FROM " + table + " WHERE server_id IS NULL ORDER BY id", ", max_samples: 2");
    REQUIRE(result.status == checks::run_status::ok);
    CHECK(result.output.value == 3);
    REQUIRE(result.output.samples.size() == 2);
    CHECK(result.output.samples[0]["id"] == 2);

    result = run_first_check(
        pg_config("  - { name: c, module: sql, database: db, params: { group_column: bar, query: " +
                  yaml_quote("SELECT id, bar FROM " + table + " WHERE server_id IS NULL") + " } }\n"));
    REQUIRE(result.status == checks::run_status::ok);
    REQUIRE(result.output.breakdown.size() == 2);
    CHECK(result.output.breakdown[0].group == "north");
    CHECK(result.output.breakdown[0].value == 2);

    result = run_first_check(pg_config(
        "  - { name: c, module: sql, database: db, params: { mode: scalar, query: " +
        yaml_quote("SELECT round(100.0 * count(server_id) / count(*), 2) FROM " + table) + " } }\n"));
    REQUIRE(result.status == checks::run_status::ok);
    CHECK(result.output.value == Approx(40.0));
}

TEST_CASE("postgres: every write attempt fails clearly and nothing changes", "[postgres][safety]") {
    const auto table = fresh_table("write_attempts");
    for (const std::string& write : std::vector<std::string>{
             "DELETE FROM " + table, "UPDATE " + table + " SET bar = 'x'",
             "INSERT INTO " + table + " (bar) VALUES ('x')", "CREATE TABLE write_attempts_new (x int)",
             "DROP TABLE " + table, "SELECT 1; DELETE FROM " + table,
             "WITH gone AS (DELETE FROM " + table + " RETURNING id) SELECT count(*) FROM gone"}) {
        INFO(write);
        const auto result = run_sql(write);
        CHECK(result.status == checks::run_status::error);
        const bool clear = result.error.find("READ ONLY transaction") != std::string::npos ||
                           result.error.find("cannot insert multiple commands") != std::string::npos;
        CHECK(clear);
        CHECK_FALSE(result.database_unavailable);
    }
    CHECK(pg_scalar(pg_dsn(), "SELECT count(*) FROM " + table) == 5);
    CHECK(pg_scalar(pg_dsn(), "SELECT count(*) FROM " + table + " WHERE bar = 'x'") == 0);
    CHECK(pg_scalar(pg_dsn(), "SELECT count(*) FROM pg_tables WHERE tablename = 'write_attempts_new'") == 0);
}

TEST_CASE("postgres: a query past the timeout ends as timeout and leaves nothing running",
          "[postgres][safety]") {
    const auto began = steady_clock::now();
    const auto result = run_sql("SELECT pg_sleep(30) AS slept_for_the_timeout_test", ", timeout: 500ms");
    CHECK(result.status == checks::run_status::timeout);
    CHECK(result.error.find("timeout") != std::string::npos);
    CHECK(steady_clock::now() - began < 10s);  // nowhere near the 30 s the query asked for
    CHECK(poll_until([] { return active_invariantd_queries("%slept_for_the_timeout_test%") == 0; }, 1s));
}

TEST_CASE("postgres: the daemon's pool never exceeds max_connections", "[postgres][daemon]") {
    // A database of its own, so connections of daemons in parallel tests are not counted.
    const auto dsn = pg_fresh_database("invariantd_pool_test");
    std::string checks;
    for (int i = 0; i < 8; ++i) {
        checks += "  - { name: sleeper_" + std::to_string(i) +
                  ", module: sql, database: pg, interval: 300ms, params: { query: \"SELECT pg_sleep(0.2) AS "
                  "pool_test\" } }\n";
    }
    temp_dir dir;
    const auto config = dir.write("invariantd.yaml",
                                  "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\n"
                                  "databases:\n  pg: { driver: postgres, dsn: \"${POOL_DSN}\", "
                                  "max_connections: 2 }\nchecks:\n" +
                                      checks);
    daemon_process daemon(config, (dir.path() / "daemon.log").string(), {{"POOL_DSN", dsn}});
    const auto connections = [] {
        return pg_scalar(pg_dsn(),
                         "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'invariantd' "
                         "AND datname = 'invariantd_pool_test'");
    };
    REQUIRE(poll_until([&] { return connections() == 2; }));
    long long most = 0;
    // Sample for two seconds while eight checks compete for two connections.
    poll_until(
        [&] {
            most = std::max(most, connections());
            return false;
        },
        2s);
    CHECK(most == 2);
    const auto text = http_get(daemon.port(), "/metrics").body;
    const auto idle = metric_value(text, "invariantd_database_connections{database=\"pg\",state=\"idle\"}");
    const auto busy = metric_value(text, "invariantd_database_connections{database=\"pg\",state=\"busy\"}");
    REQUIRE(idle);
    REQUIRE(busy);
    CHECK(*idle + *busy <= 2);
}

TEST_CASE("postgres: 50 slow checks on one database delay neither another database nor /health",
          "[postgres][daemon]") {
    std::string checks =
        "  - { name: fast, module: sql, database: fast, interval: 100ms, params: { mode: scalar, query: "
        "\"SELECT 1\" } }\n";
    for (int i = 0; i < 50; ++i) {
        checks += "  - { name: slow_" + std::to_string(i) +
                  ", module: sql, database: slow, interval: 1h, timeout: 60s, params: { query: \"SELECT "
                  "pg_sleep(1) AS isolation_test\" } }\n";
    }
    temp_dir dir;
    const auto config =
        dir.write("invariantd.yaml",
                  "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\ndatabases:\n"
                  "  slow: { driver: postgres, dsn: \"${INVARIANTD_TEST_PG_DSN}\", max_connections: 2 }\n"
                  "  fast: { driver: postgres, dsn: \"${INVARIANTD_TEST_PG_DSN2}\", max_connections: 1 }\n"
                  "checks:\n" +
                      checks);
    daemon_process daemon(config, (dir.path() / "daemon.log").string());
    const auto runs_of_fast = [&] {
        return metric_value(http_get(daemon.port(), "/metrics").body,
                            "invariantd_check_runs_total{check=\"fast\",outcome=\"ok\"}")
            .value_or(0);
    };
    REQUIRE(poll_until([&] { return runs_of_fast() >= 1; }));
    const double before = runs_of_fast();
    // While the slow database works through 50 one-second sleeps two at a time (25 s), the
    // fast database keeps its 100 ms rhythm and /health answers at once.
    // (Generous bounds: this runs under ASan beside other tests; the benchmark measures precisely.)
    CHECK(poll_until([&] { return runs_of_fast() >= before + 10; }, 10s));
    INFO("fast runs: " << before << " -> " << runs_of_fast());
    // ...and the slow database really was busy meanwhile.
    CHECK(poll_until([] {
        return pg_scalar(pg_dsn(),
                         "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%isolation_test%' "
                         "AND state = 'active' AND application_name = 'invariantd'") >= 1;
    }));
    for (int i = 0; i < 10; ++i) {
        const auto started = steady_clock::now();
        CHECK(http_get(daemon.port(), "/health").status == 200);
        CHECK(steady_clock::now() - started < 1s);
    }
}

TEST_CASE("postgres: passwords never reach logs, the API or error messages", "[postgres][secrets]") {
    const std::string password = pg_password();
    const std::string wrong = "wrong-pw-5e1d0c";
    const std::string good_dsn = pg_dsn();
    std::string bad_dsn = good_dsn;
    bad_dsn.replace(bad_dsn.find(password), password.size(), wrong);
    temp_dir dir;
    const auto config =
        dir.write("invariantd.yaml",
                  "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\nlog: { level: debug }\ndatabases:\n"
                  "  good: { driver: postgres, dsn: \"${GOOD_DSN}\" }\n"
                  "  bad: { driver: postgres, dsn: \"postgresql://invariantd_test:" +
                      wrong + "@127.0.0.1:" + pg_port() +
                      "/invariantd_test\" }\n"
                      "checks:\n"
                      "  - { name: good_check, module: sql, database: good, interval: 200ms, params: { "
                      "query: \"SELECT 1\" } }\n"
                      "  - { name: bad_check, module: sql, database: bad, interval: 200ms, params: { query: "
                      "\"SELECT 1\" } }\n");
    daemon_process daemon(config, (dir.path() / "daemon.log").string(), {{"GOOD_DSN", good_dsn}});
    REQUIRE(poll_until([&] { return http_get(daemon.port(), "/health").status == 503; }));
    const auto health = http_get(daemon.port(), "/health").body;
    const auto checks = http_get(daemon.port(), "/api/v1/checks").body;
    const auto bad_check = http_get(daemon.port(), "/api/v1/checks/bad_check").body;
    const auto page = http_get(daemon.port(), "/").body;
    const auto validate =
        run_command({daemon_binary(), "validate", "-c", config}, {}, {{"GOOD_DSN", good_dsn}});
    const auto once =
        run_command({daemon_binary(), "once", "-c", config, "--json"}, {}, {{"GOOD_DSN", good_dsn}});
    CHECK(nlohmann::json::parse(bad_check)["error"].get<std::string>().find(
              "password authentication failed") != std::string::npos);
    for (const auto& text :
         {daemon.log(), health, checks, bad_check, page, validate.out + validate.err, once.out + once.err}) {
        CHECK(text.find(password) == std::string::npos);
        CHECK(text.find(wrong) == std::string::npos);
    }
}

TEST_CASE("postgres: a server that stops answering is cancelled from the client and the connection dropped",
          "[postgres][safety]") {
    // Freeze the backend (SIGSTOP) so even its own statement_timeout cannot fire: only the
    // client-side deadline, PQcancel on a worker thread and discarding the connection help.
    auto running = std::async(std::launch::async, [] {
        return run_sql("SELECT pg_sleep(5) AS frozen_backend_test", ", timeout: 1500ms");
    });
    long long pid = 0;
    REQUIRE(poll_until(
        [&] {
            const auto pids =
                pg_column(pg_dsn(),
                          "SELECT pid FROM pg_stat_activity WHERE application_name = 'invariantd' "
                          "AND state = 'active' AND query LIKE '%frozen_backend_test%'");
            if (pids.empty()) return false;
            pid = std::stoll(pids.front());
            return true;
        },
        5s));
    REQUIRE(::kill(static_cast<pid_t>(pid), SIGSTOP) == 0);
    const auto result = running.get();
    ::kill(static_cast<pid_t>(pid), SIGCONT);
    CHECK(result.status == checks::run_status::timeout);
    CHECK(result.error.find("cancelled on the server") != std::string::npos);
    // Once the backend runs again it sees the cancel and the closed connection and goes away.
    CHECK(poll_until(
        [&] {
            return pg_scalar(pg_dsn(),
                             "SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)) == 0;
        },
        5s));
}

TEST_CASE("postgres: a cancel request into a silent network holds neither the run nor the database",
          "[postgres][safety]") {
    // Behind a proxy that stops forwarding (a partition as the client sees it), the cancel
    // request connects to the proxy and then waits for an answer that never comes: PQcancel
    // has no timeout of its own. The run must still end, as a timeout, soon after its
    // deadline, and the database must serve the next run once the network is back.
    // A database of its own: the session the partition strands (idle in an aborted
    // transaction until the proxy goes) must not count in other tests' checks.
    tcp_proxy proxy("127.0.0.1", static_cast<std::uint16_t>(std::stoi(pg_port())));
    auto dsn = pg_fresh_database("invariantd_silent_cancel");
    dsn.replace(dsn.find("port=") + 5, pg_port().size(), std::to_string(proxy.port()));
    const auto config = config::load_config_text(
        "databases:\n  db: { driver: postgres, dsn: " + yaml_quote(dsn) +
            ", max_connections: 1 }\nchecks:\n"
            "  - { name: stuck, module: sql, database: db, timeout: 1s, params: { mode: scalar, query: "
            "\"SELECT count(*) FROM pg_sleep(20) AS silent_cancel_test\" } }\n"
            "  - { name: one, module: sql, database: db, params: { mode: scalar, query: \"SELECT 1\" } }\n",
        "test.yaml", "/");
    asio::io_context loop;
    auto database = make_database(loop.get_executor(), config.databases.at(0));
    auto running = std::async(std::launch::async, [&] { return run_and_hand_back(loop, *database, config.checks.at(0)); });
    REQUIRE(poll_until([] { return active_invariantd_queries("%silent_cancel_test%") == 1; }, 10s));
    proxy.pause(true);
    // Expected: 1 s deadline + 1 s grace + at most cancel_wait (5 s). A hung PQcancel would
    // hold it until the proxy resumes, which happens only after this wait.
    const auto status = running.wait_for(30s);
    proxy.pause(false);
    REQUIRE(status == std::future_status::ready);
    const auto stuck = running.get();
    CHECK(stuck.status == checks::run_status::timeout);
    const auto next = run_and_hand_back(loop, *database, config.checks.at(1));
    CHECK(next.status == checks::run_status::ok);
    CHECK(next.output.value == 1);
    database->close();
}

TEST_CASE(
    "postgres: a run is BEGIN, one set_config SELECT, the query, ROLLBACK — one statistics entry each, "
    "whatever the timeout",
    "[postgres][safety][pg_stat_statements]") {
    // In a database of its own, so parallel tests do not add entries; pg_stat_statements is
    // loaded by tests/support/pg_cluster.sh and its view lives in the main test database.
    const auto dsn = pg_fresh_database("pgss_runs");
    pg_exec(
        dsn,
        "CREATE TABLE pgss_sales (id int, server_id int); INSERT INTO pgss_sales VALUES (1, NULL), (2, 3);");
    const std::string checks =
        "  - { name: c, module: sql, database: db, timeout: TIMEOUT, params: { query: "
        "\"SELECT id FROM pgss_sales WHERE server_id IS NULL\" } }\n";
    const int runs = 6;
    for (int i = 0; i < runs; ++i) {
        // A different timeout (and remaining time) on every run.
        auto yaml = checks;
        yaml.replace(yaml.find("TIMEOUT"), 7, std::to_string(2 + i) + "s");
        const auto config = config::load_config_text(
            "databases:\n  db: { driver: postgres, dsn: " + yaml_quote(dsn) + " }\nchecks:\n" + yaml,
            "test.yaml", "/");
        REQUIRE(run_first_check(config).status == checks::run_status::ok);
    }
    const auto entries = pg_column(
        pg_dsn(),
        "SELECT s.calls || ' ' || regexp_replace(s.query, '\\s+', ' ', 'g') FROM pg_stat_statements s "
        "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'pgss_runs' AND s.query NOT LIKE "
        "'%pgss_sales (%' "
        "AND s.query NOT LIKE 'CREATE%' AND s.query NOT LIKE 'INSERT%' ORDER BY s.query");
    INFO([&] {
        std::string all;
        for (const auto& entry : entries) all += entry + "\n";
        return all;
    }());
    // Exactly four statements per run, each one entry called `runs` times.
    REQUIRE(entries.size() == 4);
    const auto r = std::to_string(runs) + " ";
    CHECK(entries[0] == r + "BEGIN READ ONLY");
    CHECK(entries[1] == r + "ROLLBACK");
    CHECK(entries[2] == r + "SELECT id FROM pgss_sales WHERE server_id IS NULL");
    // The timeouts are bound parameters ($1..$3); the constants pg_stat_statements replaced.
    CHECK(entries[3] == r + "SELECT set_config($4, $1, $5), set_config($6, $2, $7), set_config($8, $3, $9)");
}

TEST_CASE("postgres: a single-statement run is one network round trip; a failed one takes a second for ROLLBACK",
          "[postgres][pipeline]") {
    const auto table = fresh_table("driver_round_trips");
    tcp_proxy proxy("127.0.0.1", static_cast<std::uint16_t>(std::stoi(pg_port())));
    auto dsn = pg_dsn();
    dsn.replace(dsn.find("port=") + 5, pg_port().size(), std::to_string(proxy.port()));
    const auto config = config::load_config_text(
        "databases:\n  db: { driver: postgres, dsn: " + yaml_quote(dsn) +
            ", max_connections: 1 }\nchecks:\n"
            "  - { name: ok, module: sql, database: db, params: { mode: scalar, query: \"SELECT count(*) FROM " +
            table + " WHERE server_id IS NULL\" } }\n"
            "  - { name: rows, module: sql, database: db, params: { query: \"SELECT id FROM " + table +
            " WHERE server_id IS NULL\" } }\n"
            "  - { name: broken, module: sql, database: db, params: { mode: scalar, query: \"SELECT 1 / 0\" } }\n",
        "test.yaml", "/");
    asio::io_context loop;
    auto database = make_database(loop.get_executor(), config.databases.at(0));
    auto run = [&](std::size_t index) { return run_and_hand_back(loop, *database, config.checks.at(index)); };
    auto first = run(0);  // connects: start-up and authentication take flights of their own
    REQUIRE(first.status == checks::run_status::ok);
    CHECK(first.output.value == 3);
    REQUIRE(proxy.connections() == 1);

    const auto before = proxy.client_flights();
    for (int i = 0; i < 5; ++i) REQUIRE(run(0).status == checks::run_status::ok);
    CHECK(proxy.client_flights() - before == 5);  // one round trip per run
    const auto rows_before = proxy.client_flights();
    const auto rows = run(1);
    REQUIRE(rows.status == checks::run_status::ok);
    CHECK(rows.output.value == 3);
    CHECK(proxy.client_flights() - rows_before == 1);

    const auto failing_before = proxy.client_flights();
    const auto failed = run(2);
    CHECK(failed.status == checks::run_status::error);
    CHECK(failed.error.find("division by zero") != std::string::npos);
    CHECK(proxy.client_flights() - failing_before == 2);  // the pipeline, then ROLLBACK
    // The connection is still good and pooled: the next run needs no new one.
    REQUIRE(run(0).status == checks::run_status::ok);
    CHECK(proxy.connections() == 1);
    database->close();
}

TEST_CASE("postgres behind PgBouncer in transaction mode: checks run, the timeout fires, nothing is written, "
          "no session state is left behind",
          "[postgres][pgbouncer]") {
    const auto table = fresh_table("driver_pgbouncer");
    const auto bouncer = pgbouncer_dsn();
    const auto config = config::load_config_text(
        "databases:\n  db: { driver: postgres, dsn: " + yaml_quote(bouncer) +
            ", max_connections: 2 }\nchecks:\n"
            "  - { name: ok, module: sql, database: db, params: { query: \"SELECT id FROM " + table +
            " WHERE server_id IS NULL ORDER BY id\" } }\n"
            "  - { name: slow, module: sql, database: db, timeout: 1s, params: { mode: scalar, query: "
            "\"SELECT count(*) FROM pg_sleep(5)\" } }\n"
            "  - { name: write, module: sql, database: db, params: { mode: scalar, query: \"WITH w AS (INSERT INTO " +
            table + " (server_id) VALUES (1) RETURNING 1) SELECT count(*) FROM w\" } }\n"
            "  - { name: grouped, module: sql, database: db, params: { query: \"SELECT id, bar FROM " + table +
            " WHERE server_id IS NULL\", group_column: bar } }\n",
        "test.yaml", "/");
    asio::io_context loop;
    auto database = make_database(loop.get_executor(), config.databases.at(0));
    auto run = [&](std::size_t index) { return run_and_hand_back(loop, *database, config.checks.at(index)); };
    for (int i = 0; i < 10; ++i) {
        const auto result = run(i % 2 == 0 ? 0 : 3);
        REQUIRE(result.status == checks::run_status::ok);
        CHECK(result.output.value == 3);
    }
    // The statement timeout is set inside the transaction, so it reaches the server PgBouncer
    // lends for it: the server cancels the statement itself.
    const auto slow = run(1);
    CHECK(slow.status == checks::run_status::timeout);
    CHECK(slow.error.find("cancelled by the server") != std::string::npos);
    // Read only, whichever server connection ran it.
    const auto write = run(2);
    CHECK(write.status == checks::run_status::error);
    CHECK(write.error.find("read-only transaction") != std::string::npos);
    CHECK(pg_scalar(pg_dsn(), "SELECT count(*) FROM " + table) == 5);
    // And still working after a timeout and an error.
    CHECK(run(0).status == checks::run_status::ok);
    database->close();

    // Nothing stays on the server connections PgBouncer hands to the next client: the
    // settings were local to the transactions and no statement was prepared by name.
    for (int i = 0; i < 4; ++i) {
        CHECK(pg_column(bouncer, "SHOW statement_timeout").at(0) == "0");
        CHECK(pg_column(bouncer, "SHOW transaction_read_only").at(0) == "off");
        CHECK(pg_column(bouncer, "SHOW idle_in_transaction_session_timeout").at(0) == "0");
        CHECK(pg_scalar(bouncer, "SELECT count(*) FROM pg_prepared_statements") == 0);
    }
    CHECK(pg_scalar(pg_dsn(),
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'invariantd_test' AND state LIKE "
                    "'idle in transaction%'") == 0);
}

TEST_CASE("postgres: libpq is loaded with the first PostgreSQL database, not at start", "[postgres][daemon][memory]") {
    // A daemon that watches only SQLite files never maps libpq and its dependencies (~3.4 MB
    // resident, README "Memory"); a reload that adds a PostgreSQL database loads it then.
    temp_dir dir;
    const auto db_path = (dir.path() / "app.db").string();
    sqlite_exec(db_path, "CREATE TABLE t (id integer PRIMARY KEY); INSERT INTO t VALUES (1), (2);");
    const std::string head = "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\ndatabases:\n"
                             "  app: { driver: sqlite, path: \"" + db_path + "\" }\n";
    const std::string sqlite_check = "  - { name: rows, module: sql, database: app, interval: 1h, params: { mode: scalar, query: "
                                     "\"SELECT count(*) FROM t\" } }\n";
    const auto config = dir.write("invariantd.yaml", head + "checks:\n" + sqlite_check);
    daemon_process daemon(config, (dir.path() / "daemon.log").string());
    const auto mapped = [&](const std::string& library) {
        std::ifstream maps("/proc/" + std::to_string(daemon.pid()) + "/maps");
        std::string line;
        while (std::getline(maps, line))
            if (line.find(library) != std::string::npos) return true;
        return false;
    };
    REQUIRE(poll_until([&] {
        return metric_value(http_get(daemon.port(), "/metrics").body, "invariantd_check_value{check=\"rows\"") == 2.0;
    }));
    CHECK_FALSE(mapped("libpq.so"));
    CHECK_FALSE(mapped("libldap"));
    CHECK(mapped("libsqlite3.so"));  // the probe reads the right process

    dir.write("invariantd.yaml", head + "  pg: { driver: postgres, dsn: \"${INVARIANTD_TEST_PG_DSN}\" }\nchecks:\n" +
                                     sqlite_check +
                                     "  - { name: one, module: sql, database: pg, interval: 1h, params: { mode: scalar, query: "
                                     "\"SELECT 1\" } }\n");
    daemon.signal(SIGHUP);
    REQUIRE(poll_until([&] {
        return metric_value(http_get(daemon.port(), "/metrics").body, "invariantd_check_value{check=\"one\"") == 1.0;
    }));
    CHECK(mapped("libpq.so.5"));
}
