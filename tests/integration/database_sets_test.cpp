// SPEC §11 database sets: one check over the tenant databases of one PostgreSQL server,
// members discovered, added and removed while the daemon runs.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <fstream>
#include <future>
#include <set>

#include "tests/support/http_client.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

/// A tenant database with `missing` sales lacking a server_id.
void make_tenant(const std::string& name, int missing) {
    const auto dsn = pg_fresh_database(name);
    std::string sql =
        "CREATE TABLE sales (id serial PRIMARY KEY, server_id int); INSERT INTO sales (server_id) VALUES "
        "(1);";
    for (int i = 0; i < missing; ++i) sql += "INSERT INTO sales (server_id) VALUES (NULL);";
    pg_exec(dsn, sql);
}

std::set<std::string> instance_names(std::uint16_t port) {
    std::set<std::string> names;
    for (const auto& check : nlohmann::json::parse(http_get(port, "/api/v1/checks").body))
        names.insert(check["name"].get<std::string>());
    return names;
}

/// dedup_key → the last event_action a PagerDuty-style receiver got for it.
std::map<std::string, std::string> last_actions(const test_receiver& receiver) {
    std::map<std::string, std::string> out;
    for (const auto& request : receiver.requests()) {
        const auto body = request.json();
        out[body["dedup_key"].get<std::string>()] = body["event_action"].get<std::string>();
    }
    return out;
}

long long tenant_backends() {
    return pg_scalar(pg_dsn(),
                     "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'invariantd' AND "
                     "datname LIKE 'dset\\_tenant\\_%'");
}

}  // namespace

TEST_CASE("a database set: one check instance per member, members added and removed live",
          "[postgres][database_sets]") {
    for (const auto* name : {"dset_tenant_d", "dset_tenant_c"})
        pg_exec(pg_dsn(), std::string("DROP DATABASE IF EXISTS ") + name + " WITH (FORCE)");
    make_tenant("dset_tenant_a", 2);
    make_tenant("dset_tenant_b", 0);
    make_tenant("dset_tenant_c", 1);
    test_receiver pager;
    temp_dir dir;
    const auto config = dir.write(
        "invariantd.yaml",
        "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\n"
        "databases:\n  tenants:\n    driver: postgres\n    dsn: ${TENANTS_DSN}\n"
        "    discover: \"SELECT datname FROM pg_database WHERE datname LIKE 'dset\\\\_tenant\\\\_%' ORDER BY "
        "1\"\n"
        "    discover_interval: 1s\n    max_connections: 2\n"
        "checks:\n  - name: missing_server\n    module: sql\n    database: tenants\n    interval: 1s\n"
        "    params: { query: \"SELECT id FROM sales WHERE server_id IS NULL ORDER BY id\" }\n"
        "    alert: { when: \"> 0\", receivers: [pager] }\n"
        "receivers:\n  pager: { type: pagerduty, routing_key: k, url: \"" +
            pager.url("/v2/enqueue") + "\" }\n");
    daemon_process daemon(config, (dir.path() / "daemon.log").string(), {{"TENANTS_DSN", pg_dsn()}});
    const auto port = daemon.port();

    const std::set<std::string> first{"missing_server/dset_tenant_a", "missing_server/dset_tenant_b",
                                      "missing_server/dset_tenant_c"};
    REQUIRE(poll_until([&] { return instance_names(port) == first; }, 20s));
    // Every output names the instance: metrics (database "<set>/<member>"), API paths, health.
    REQUIRE(poll_until([&] {
        return metric_value(
                   http_get(port, "/metrics").body,
                   "invariantd_check_value{check=\"missing_server/dset_tenant_a\",database=\"tenants/"
                   "dset_tenant_a\",module=\"sql\"}") == 2.0;
    }));
    const auto one = http_get(port, "/api/v1/checks/missing_server/dset_tenant_c");
    REQUIRE(one.status == 200);
    CHECK(nlohmann::json::parse(one.body)["name"] == "missing_server/dset_tenant_c");
    CHECK(http_call(port, "POST", "/api/v1/checks/missing_server/dset_tenant_b/run?wait=1").status == 200);
    CHECK(http_get(port, "/api/v1/checks/missing_server/dset_tenant_b/offenders").status == 200);
    CHECK(http_get(port, "/api/v1/checks/missing_server/no_such_tenant").status == 404);
    CHECK(http_get(port, "/checks/missing_server/dset_tenant_a").status == 200);
    const auto health = nlohmann::json::parse(http_get(port, "/health").body);
    CHECK(health["databases"]["tenants"]["up"] == true);
    CHECK(health["databases"]["tenants/dset_tenant_a"]["up"] == true);
    // Pages per instance: a and c are wrong, b is not.
    REQUIRE(poll_until([&] { return last_actions(pager).size() == 2; }, 20s));
    CHECK(last_actions(pager) ==
          std::map<std::string, std::string>{{"invariantd/missing_server/dset_tenant_a", "trigger"},
                                             {"invariantd/missing_server/dset_tenant_c", "trigger"}});
    // A silence may name one member's instance: it covers that instance only.
    const auto created = http_call(port, "POST", "/api/v1/silences", {{"Content-Type", "application/json"}},
                                   R"({"checks": ["missing_server/dset_tenant_a"], "duration": "2h",
                                       "comment": "tenant a migrates", "created_by": "test"})");
    REQUIRE(created.status == 201);
    const auto silenced = [&](const std::string& member) {
        return !nlohmann::json::parse(http_get(port, "/api/v1/checks/missing_server/" + member).body)["silenced_until"]
                    .is_null();
    };
    CHECK(silenced("dset_tenant_a"));
    CHECK_FALSE(silenced("dset_tenant_c"));
    CHECK(metric_value(http_get(port, "/metrics").body,
                       "invariantd_check_silenced{check=\"missing_server/dset_tenant_a\"}") == 1.0);
    CHECK(metric_value(http_get(port, "/metrics").body,
                       "invariantd_check_silenced{check=\"missing_server/dset_tenant_b\"}") == 0.0);

    // The set's max_connections bounds all members together (a closing connection may
    // linger a moment while libpq says goodbye on a worker thread: one more at most).
    for (int i = 0; i < 20; ++i) CHECK(tenant_backends() <= 3);

    // A tenant created while running is found and checked; one dropped is removed and its
    // alert resolves.
    make_tenant("dset_tenant_d", 1);
    pg_exec(pg_dsn(), "DROP DATABASE dset_tenant_c WITH (FORCE)");
    const std::set<std::string> second{"missing_server/dset_tenant_a", "missing_server/dset_tenant_b",
                                       "missing_server/dset_tenant_d"};
    REQUIRE(poll_until([&] { return instance_names(port) == second; }, 20s));
    REQUIRE(poll_until(
        [&] {
            const auto actions = last_actions(pager);
            return actions.count("invariantd/missing_server/dset_tenant_d") != 0 &&
                   actions.at("invariantd/missing_server/dset_tenant_c") == "resolve";
        },
        20s));
    CHECK(last_actions(pager).at("invariantd/missing_server/dset_tenant_a") == "trigger");
    const auto metrics = http_get(port, "/metrics").body;
    CHECK(metrics.find("dset_tenant_c") == std::string::npos);
    CHECK(metric_value(metrics, "invariantd_database_up{database=\"tenants/dset_tenant_d\"}") == 1.0);

    // once runs every member too.
    const auto once =
        run_command({daemon_binary(), "once", "-c", config, "--json"}, {}, {{"TENANTS_DSN", pg_dsn()}});
    CHECK(once.exit_code == 1);
    std::set<std::string> once_names;
    const auto once_report = nlohmann::json::parse(once.out);
    for (const auto& check : once_report["checks"]) once_names.insert(check["name"].get<std::string>());
    CHECK(once_names == second);
    pg_exec(pg_dsn(), "DROP DATABASE dset_tenant_d WITH (FORCE)");
}

TEST_CASE("a database set's discover rows that are not database names are reported, the rest are checked",
          "[postgres][database_sets]") {
    make_tenant("dset_odd_a", 1);
    temp_dir dir;
    const auto config =
        dir.write("invariantd.yaml",
                  "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\n"
                  "databases:\n  odd:\n    driver: postgres\n    dsn: ${TENANTS_DSN}\n"
                  "    discover: \"SELECT * FROM (VALUES ('dset_odd_a'), ('no_such_database_x'), "
                  "('dset_odd_a'), (NULL)) v(n)\"\n"
                  "  numbers:\n    driver: postgres\n    dsn: ${TENANTS_DSN}\n    discover: \"SELECT 42\"\n"
                  "checks:\n  - { name: odd_check, module: sql, database: odd, params: { mode: scalar, "
                  "query: \"SELECT count(*) "
                  "FROM sales\" } }\n"
                  "  - { name: number_check, module: sql, database: numbers, params: { mode: scalar, query: "
                  "\"SELECT 1\" } }\n");
    daemon_process daemon(config, (dir.path() / "daemon.log").string(), {{"TENANTS_DSN", pg_dsn()}});
    const auto port = daemon.port();
    REQUIRE(poll_until([&] { return instance_names(port) == std::set<std::string>{"odd_check/dset_odd_a"}; },
                       20s));
    nlohmann::json health;
    REQUIRE(poll_until([&] {
        health = nlohmann::json::parse(http_get(port, "/health").body);
        return health["databases"].contains("numbers") && health["databases"].contains("odd") &&
               !health["databases"]["numbers"]["error"].get<std::string>().empty();
    }));
    const auto odd = health["databases"]["odd"]["error"].get<std::string>();
    CHECK_THAT(odd, Catch::Contains("'no_such_database_x' is not a database on this server"));
    CHECK_THAT(odd, Catch::Contains("row 3: 'dset_odd_a' is listed twice"));
    CHECK_THAT(odd, Catch::Contains("row 4: the database name is NULL"));
    CHECK(health["databases"]["odd"]["up"] == false);
    CHECK_THAT(health["databases"]["numbers"]["error"].get<std::string>(),
               Catch::Contains("row 1: the first column must be text (a database name), got 42"));
    CHECK(health["databases"]["odd/dset_odd_a"]["up"] == true);
    CHECK_THAT(daemon.log(), Catch::Contains("database set 'odd': 'no_such_database_x' is not a database"));
    // The good member is checked all the same.
    REQUIRE(poll_until([&] {
        return metric_value(http_get(port, "/metrics").body,
                            "invariantd_check_value{check=\"odd_check/dset_odd_a\"") == 2.0;  // its two sales
    }));
}

TEST_CASE("a database set's members keep idle connections within the set's bound, and yield them to each other",
          "[postgres][database_sets]") {
    pg_exec(pg_dsn(), "DROP DATABASE IF EXISTS dset_reuse_c WITH (FORCE)");
    make_tenant("dset_reuse_a", 1);
    make_tenant("dset_reuse_b", 1);
    temp_dir dir;
    const auto config = dir.write(
        "invariantd.yaml",
        "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\n"
        "databases:\n  tenants:\n    driver: postgres\n    dsn: ${TENANTS_DSN}\n"
        "    discover: \"SELECT datname FROM pg_database WHERE datname LIKE 'dset\\\\_reuse\\\\_%'\"\n"
        "    discover_interval: 1s\n    max_connections: 2\n"
        "checks:\n  - { name: c, module: sql, database: tenants, interval: 200ms, params: { mode: scalar, query: "
        "\"SELECT count(*) FROM sales\" } }\n");
    daemon_process daemon(config, (dir.path() / "daemon.log").string(), {{"TENANTS_DSN", pg_dsn()}});
    const auto port = daemon.port();
    const auto runs = [&](const std::string& member) {
        return metric_value(http_get(port, "/metrics").body,
                            "invariantd_check_runs_total{check=\"c/" + member + "\",outcome=\"ok\"}")
            .value_or(0);
    };
    const auto backends = [] {
        return pg_column(pg_dsn(),
                         "SELECT pid FROM pg_stat_activity WHERE application_name = 'invariantd' AND "
                         "datname LIKE 'dset\\_reuse\\_%'");
    };
    REQUIRE(poll_until([&] { return runs("dset_reuse_a") >= 1 && runs("dset_reuse_b") >= 1; }, 20s));

    // Two members, two slots: each keeps its connection between runs — the same two server
    // backends serve every run (without reuse each run would be a new backend).
    std::set<std::string> first_two;
    REQUIRE(poll_until([&] {
        const auto pids = backends();
        first_two = std::set<std::string>(pids.begin(), pids.end());
        return first_two.size() == 2;
    }));
    const auto a_before = runs("dset_reuse_a");
    const auto b_before = runs("dset_reuse_b");
    std::set<std::string> seen;
    int samples = 0;
    REQUIRE(poll_until(
        [&] {
            for (const auto& pid : backends()) seen.insert(pid);
            ++samples;
            return runs("dset_reuse_a") >= a_before + 5 && runs("dset_reuse_b") >= b_before + 5;
        },
        20s));
    CHECK(samples > 1);
    CHECK(seen == first_two);

    // A third member and still two slots: members close each other's idle connections to
    // run, every member keeps running, and the set stays within its bound (plus, for a
    // moment, a connection being closed on its member's worker thread).
    const auto threads = [&] {
        std::ifstream status("/proc/" + std::to_string(daemon.pid()) + "/status");
        std::string line;
        while (std::getline(status, line))
            if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
        return -1;
    };
    const int threads_before = threads();
    make_tenant("dset_reuse_c", 1);
    REQUIRE(poll_until([&] { return runs("dset_reuse_c") >= 1; }, 20s));
    // Members share the set's blocking threads: a new member adds none.
    CHECK(threads() == threads_before);
    const auto a_then = runs("dset_reuse_a");
    const auto b_then = runs("dset_reuse_b");
    const auto c_then = runs("dset_reuse_c");
    std::size_t most = 0;
    REQUIRE(poll_until(
        [&] {
            most = std::max(most, backends().size());
            return runs("dset_reuse_a") >= a_then + 3 && runs("dset_reuse_b") >= b_then + 3 &&
                   runs("dset_reuse_c") >= c_then + 3;
        },
        20s));
    CHECK(most <= 3);
    const auto text = http_get(port, "/metrics").body;
    CHECK(metric_value(text, "invariantd_check_runs_total{check=\"c/dset_reuse_c\",outcome=\"timeout\"}") == 0.0);
    for (const auto* name : {"dset_reuse_a", "dset_reuse_b", "dset_reuse_c"})
        pg_exec(pg_dsn(), std::string("DROP DATABASE IF EXISTS ") + name + " WITH (FORCE)");
}

TEST_CASE("once runs a set's members within the set's max_connections", "[postgres][database_sets]") {
    for (const auto* name : {"dset_once_a", "dset_once_b", "dset_once_c"}) make_tenant(name, 0);
    temp_dir dir;
    const auto config = dir.write(
        "invariantd.yaml",
        "databases:\n  tenants:\n    driver: postgres\n    dsn: ${TENANTS_DSN}\n"
        "    discover: \"SELECT datname FROM pg_database WHERE datname LIKE 'dset\\\\_once\\\\_%'\"\n"
        "    max_connections: 1\n"
        "checks:\n  - { name: slow, module: sql, database: tenants, params: { mode: scalar, query: "
        "\"SELECT count(*) FROM pg_sleep(0.5)\" } }\n");
    auto once = std::async(std::launch::async, [&] {
        return run_command({daemon_binary(), "once", "-c", config, "--json"}, {}, {{"TENANTS_DSN", pg_dsn()}});
    });
    // Three members, one slot: never three backends at once (one more, for a moment, while
    // a member's connection closes so the next member can open one).
    std::size_t most = 0;
    while (once.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
        most = std::max(most, pg_column(pg_dsn(),
                                        "SELECT pid FROM pg_stat_activity WHERE application_name = 'invariantd' "
                                        "AND datname LIKE 'dset\\_once\\_%' AND state = 'active'")
                                  .size());
    const auto result = once.get();
    CHECK(result.exit_code == 0);
    CHECK(most == 1);
    std::set<std::string> names;
    const auto report = nlohmann::json::parse(result.out);
    for (const auto& check : report["checks"]) names.insert(check["name"].get<std::string>());
    CHECK(names == std::set<std::string>{"slow/dset_once_a", "slow/dset_once_b", "slow/dset_once_c"});
    for (const auto* name : {"dset_once_a", "dset_once_b", "dset_once_c"})
        pg_exec(pg_dsn(), std::string("DROP DATABASE IF EXISTS ") + name + " WITH (FORCE)");
}
