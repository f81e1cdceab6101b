// Every malformed configuration must produce its exact message at its exact position
// (file:line:col), and nothing else may slip through: each case asserts the full error list.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "daemon/config/loader.hpp"

using invariantd::config::config_exception;
using invariantd::config::load_config_text;

namespace {

std::vector<std::string> errors_of(const std::string& yaml) {
    try {
        load_config_text(yaml, "test.yaml", "/tmp");
    } catch (const config_exception& e) {
        std::vector<std::string> out;
        for (const auto& error : e.errors()) out.push_back(error.to_string());
        return out;
    }
    return {};
}

const std::string db = "databases:\n  demo: { driver: sqlite, path: demo.db }\n";

struct error_case {
    const char* what;
    std::string yaml;
    std::vector<std::string> expected;
};

}  // namespace

TEST_CASE("malformed configurations report every error with file, line and column", "[config]") {
    unsetenv("INVARIANTD_TEST_UNSET_VARIABLE");
    const std::vector<error_case> cases{
        {"unknown top-level key with hint", "servr:\n  listen: \"127.0.0.1:1\"\n",
         {"test.yaml:1:1: unknown key 'servr' in the configuration (did you mean 'server'?)"}},
        {"unknown check key with hint (the SPEC example)",
         db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    intervall: 5m\n    params: { query: \"select 1\" }\n",
         {"test.yaml:7:5: unknown key 'intervall' in check 'a' (did you mean 'interval'?)"}},
        {"undefined receiver inherited from defaults is positioned at the check (found by fuzzing: it had no position)",
         "defaults:\n  alert: { receivers: [oncall] }\n" + db +
             "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: \"select 1\" }\n",
         {"test.yaml:6:5: check 'a': undefined receiver 'oncall'"}},
        {"server.tls without key_file", "server:\n  tls: { cert_file: /nonexistent/tls.crt }\n",
         {"test.yaml:2:8: 'server.tls' needs 'key_file'"}},
        {"server.tls with a missing certificate file",
         "server:\n  tls: { cert_file: /nonexistent/tls.crt, key_file: /nonexistent/tls.key }\n",
         {"test.yaml:2:8: 'server.tls': cannot read '/nonexistent/tls.crt': No such file or directory"}},
        {"server.tls unknown key", "server:\n  tls: { certfile: a.crt, cert_file: /nonexistent/a, key_file: b }\n",
         {"test.yaml:2:8: 'server.tls': cannot read '/nonexistent/a': No such file or directory",
          "test.yaml:2:10: unknown key 'certfile' in 'server.tls' (did you mean 'cert_file'?)"}},
        {"basic_auth without users", "server:\n  basic_auth: { exempt: [/livez] }\n",
         {"test.yaml:2:15: 'server.basic_auth.users' must map at least one user name to a bcrypt hash"}},
        {"cluster without database", "cluster: { member: a }\n",
         {"test.yaml:1:10: 'cluster' needs 'database' (a postgres entry of 'databases')"}},
        {"cluster on an unknown database", db + "cluster: { database: nope }\n",
         {"test.yaml:3:22: 'cluster.database': no database 'nope'"}},
        {"cluster on a sqlite database", db + "cluster: { database: demo }\n",
         {"test.yaml:3:22: 'cluster.database': 'demo' must be a postgres database (not sqlite); the cluster "
          "coordinates through PostgreSQL"}},
        {"cluster lease, schema, member and an unknown key",
         "databases:\n  coord: { driver: postgres, dsn: \"host=x\" }\n"
         "cluster: { database: coord, lease: 2s, schema: \"Bad-Name\", member: \"has space\", leas: 3s }\n",
         {"test.yaml:3:36: 'cluster.lease' must be at least 3s (heartbeats go every lease/3)",
          "test.yaml:3:48: 'cluster.schema' must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 "
          "bytes), got 'Bad-Name'",
          "test.yaml:3:68: 'cluster.member' must be 1 to 52 letters, digits, '.', '_' or '-' (it becomes "
          "application_name invariantd/<member>), got 'has space'",
          "test.yaml:3:81: unknown key 'leas' in 'cluster' (did you mean 'lease'?)"}},
        {"basic_auth with a plain password", "server:\n  basic_auth: { users: { prometheus: hunter2 } }\n",
         {"test.yaml:2:38: 'server.basic_auth.users.prometheus' is not a bcrypt hash (\"$2y$10$\" and 53 more "
          "characters, as htpasswd -nbBC 10 makes)"}},
        {"basic_auth exempt not a path",
         "server:\n  basic_auth:\n    users: { p: \"$2y$10$abcdefghijklmnopqrstuuq0Q4WqW6kdnT6gCrF4DRdGYJWnCO4Cm\" }\n"
         "    exempt: [health]\n",
         {"test.yaml:4:14: 'server.basic_auth.exempt': 'health' is not a path (it starts with '/')"}},
        {"duration buckets not a list", "server:\n  duration_buckets: 5\n",
         {"test.yaml:2:21: 'server.duration_buckets' must be a list of 1 to 20 upper bounds in seconds, ascending, "
          "e.g. [0.01, 0.1, 1, 5, 30]"}},
        {"duration bucket not a number", "server:\n  duration_buckets: [0.1, fast]\n",
         {"test.yaml:2:27: 'server.duration_buckets': 'fast' is not a positive number of seconds"}},
        {"duration bucket zero", "server:\n  duration_buckets: [0, 1]\n",
         {"test.yaml:2:22: 'server.duration_buckets': '0' is not a positive number of seconds"}},
        {"duration buckets not ascending", "server:\n  duration_buckets: [1, 0.5]\n",
         {"test.yaml:2:25: 'server.duration_buckets' must ascend: 0.5 follows 1"}},
        {"max_cost on a SQLite check",
         db + "checks:\n  - { name: a, module: sql, database: demo, max_cost: 100, params: { query: \"select 1\" } }\n",
         {"test.yaml:4:55: check 'a': 'max_cost' applies to PostgreSQL databases only; 'demo' is SQLite"}},
        {"max_cost not positive", "defaults:\n  max_cost: 0\n",
         {"test.yaml:2:13: 'max_cost' must be a positive number (the planner's estimated total cost), got '0'"}},
        {"discover on SQLite", "databases:\n  d: { driver: sqlite, path: x.db, discover: \"SELECT 1\" }\n",
         {"test.yaml:2:46: database 'd': 'discover' applies to driver postgres only"}},
        {"discover_interval too short", "databases:\n  t: { driver: postgres, dsn: \"host=x\", discover: \"SELECT 1\", discover_interval: 10ms }\n",
         {"test.yaml:2:82: 'discover_interval' must be at least 1s"}},
        {"bad duration", db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    interval: 5 minutes\n    params: { query: \"select 1\" }\n",
         {"test.yaml:7:15: 'interval': invalid duration '5 minutes' (use e.g. 500ms, 30s, 5m, 1h, 1d)"}},
        {"duration units out of order", db + "defaults:\n  interval: 30s5m\n",
         {"test.yaml:4:13: 'interval': invalid duration '30s5m' (use e.g. 500ms, 30s, 5m, 1h, 1d)"}},
        {"undefined database with hint", db + "checks:\n  - name: a\n    module: sql\n    database: demoo\n    params: { query: \"select 1\" }\n",
         {"test.yaml:6:15: check 'a': undefined database 'demoo' (did you mean 'demo'?)"}},
        {"unknown module with hint", db + "checks:\n  - name: a\n    module: sqll\n    database: demo\n",
         {"test.yaml:5:13: check 'a': unknown module 'sqll' (did you mean 'sql'?)"}},
        {"duplicate check names",
         db + "checks:\n  - { name: a, module: sql, database: demo, params: { query: \"select 1\" } }\n"
              "  - { name: a, module: sql, database: demo, params: { query: \"select 2\" } }\n",
         {"test.yaml:5:13: duplicate check name 'a' (first at line 4)"}},
        {"missing required module parameter", db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { mode: rows }\n",
         {"test.yaml:7:13: check 'a': missing required parameter 'query'"}},
        {"unknown module parameter with hint",
         db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params:\n      query: select 1\n      group_colum: x\n",
         {"test.yaml:9:7: check 'a': unknown parameter 'group_colum' (did you mean 'group_column'?)"}},
        {"invalid parameter choice", db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: select 1, mode: table }\n",
         {"test.yaml:7:38: check 'a': parameter 'mode' must be one of rows|scalar, got 'table'"}},
        {"module-level parameter rule",
         db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: select 1, mode: scalar, group_column: g }\n",
         {"test.yaml:7:13: check 'a': parameter 'group_column' applies to mode 'rows' only"}},
        {"parameter of the wrong type", db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: [select 1] }\n",
         {"test.yaml:7:22: check 'a': parameter 'query' must be a string"}},
        {"unset environment variable", "server:\n  api_token: ${INVARIANTD_TEST_UNSET_VARIABLE}\n",
         {"test.yaml:2:14: 'server.api_token': environment variable 'INVARIANTD_TEST_UNSET_VARIABLE' is not set"}},
        {"unreadable secret file", "server:\n  api_token: ${file:/nonexistent/invariantd/token}\n",
         {"test.yaml:2:14: 'server.api_token': cannot read file '/nonexistent/invariantd/token'"}},
        {"unterminated variable reference", "server:\n  api_token: \"${TOKEN\"\n",
         {"test.yaml:2:14: 'server.api_token': unterminated '${' in value"}},
        {"databases of the wrong type", "databases: [a, b]\n",
         {"test.yaml:1:12: 'databases' must be a mapping of database name to settings"}},
        {"checks of the wrong type", db + "checks: { a: 1 }\n", {"test.yaml:3:9: 'checks' must be a list of checks"}},
        {"unknown driver with hint", "databases:\n  demo: { driver: sqlitee, path: demo.db }\n",
         {"test.yaml:2:19: 'driver' must be one of sqlite|postgres, got 'sqlitee' (did you mean 'sqlite'?)"}},
        {"sqlite without path", "databases:\n  demo:\n    driver: sqlite\n",
         {"test.yaml:3:5: database 'demo': driver sqlite needs 'path'"}},
        {"postgres-only key on sqlite", "databases:\n  demo: { driver: sqlite, path: x.db, dsn: \"host=x\" }\n",
         {"test.yaml:2:44: database 'demo': 'dsn' applies to driver postgres only"}},
        {"listen without port", "server:\n  listen: localhost\n",
         {"test.yaml:2:11: 'server.listen' must be host:port or [ipv6]:port, got 'localhost'"}},
        {"bad log level", "log: { level: verbose }\n",
         {"test.yaml:1:15: 'log.level' must be one of trace|debug|info|warn|error, got 'verbose'"}},
        {"bad check name", db + "checks:\n  - { name: Shift-Coverage, module: sql, database: demo, params: { query: x } }\n",
         {"test.yaml:4:13: check name 'Shift-Coverage' must match [a-z0-9_]+"}},
        {"malformed alert condition",
         db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: x }\n    alert: { when: \"more than 5\" }\n",
         {"test.yaml:8:20: 'alert.when' must be a comparator (> >= < <= == !=) and a number, got 'more than 5'"}},
        {"undefined receiver with hint",
         db + "receivers:\n  oncall: { type: slack, url: \"https://hooks.example.com/x\" }\n"
              "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: x }\n    alert: { receivers: [oncal] }\n",
         {"test.yaml:10:25: check 'a': undefined receiver 'oncal' (did you mean 'oncall'?)"}},
        {"bad severity", "defaults:\n  alert: { severity: urgent }\n",
         {"test.yaml:2:22: 'alert.severity' must be one of critical|error|warning|info, got 'urgent'"}},
        {"negative max_samples", "defaults:\n  max_samples: -1\n",
         {"test.yaml:2:16: 'max_samples' must be a whole number from 0 to 1000, got '-1'"}},
        {"notify_on_new not a boolean", "defaults:\n  alert: { notify_on_new: maybe }\n",
         {"test.yaml:2:27: 'alert.notify_on_new' must be one of true|false, got 'maybe'"}},
        {"max_tracked out of range", "defaults:\n  max_tracked: 0\n",
         {"test.yaml:2:16: 'max_tracked' must be a whole number from 1 to 100000, got '0'"}},
        {"max_tracked above the limit",
         db + "checks:\n  - { name: a, module: sql, database: demo, max_tracked: 100001, params: { query: \"select 1\" } }\n",
         {"test.yaml:4:58: 'max_tracked' must be a whole number from 1 to 100000, got '100001'"}},
        {"key_columns in scalar mode",
         db + "checks:\n  - name: a\n    module: sql\n    database: demo\n    params: { query: \"select 1\", mode: scalar, key_columns: [x] }\n",
         {"test.yaml:7:13: check 'a': parameter 'key_columns' applies to mode 'rows' only"}},
        {"YAML syntax error", "server:\n  listen: [127.0.0.1\n", {"test.yaml:3:1: YAML syntax error: end of sequence flow not found"}},
        {"duplicate key in a mapping", "defaults:\n  interval: 30s\n  interval: 1m\n",
         {"test.yaml:3:3: duplicate key 'interval' (first at line 2)"}},
        {"pagerduty without routing key", "receivers:\n  oncall:\n    type: pagerduty\n",
         {"test.yaml:3:5: receiver 'oncall': type pagerduty needs 'routing_key'"}},
        {"unknown receiver type", "receivers:\n  mail: { type: email, url: \"https://x\" }\n",
         {"test.yaml:2:17: 'type' must be one of pagerduty|alertmanager|webhook|slack, got 'email'"}},
        {"receiver url without scheme", "receivers:\n  hook: { type: webhook, url: \"hooks.example.com/x\" }\n",
         {"test.yaml:2:31: receiver 'hook': url must start with http:// or https://"}},
        {"empty configuration", "", {"test.yaml:1:1: the configuration is empty"}},
        {"check missing its module", db + "checks:\n  - name: a\n    database: demo\n",
         {"test.yaml:4:5: check 'a': missing required key 'module'"}},
        {"module with a required parameter but no params at all", db + "checks:\n  - name: a\n    module: sql\n    database: demo\n",
         {"test.yaml:4:5: check 'a': missing required parameter 'query'"}},
        {"timeout below the floor", "defaults:\n  timeout: 5ms\n", {"test.yaml:2:12: 'timeout' must be at least 10ms"}},
        {"postgres without dsn", "databases:\n  pg: { driver: postgres, max_lifetime: 30m }\n",
         {"test.yaml:2:7: database 'pg': driver postgres needs 'dsn'"}},
        {"sqlite-only key on postgres", "databases:\n  pg: { driver: postgres, dsn: \"host=x\", busy_timeout: 1s }\n",
         {"test.yaml:2:56: database 'pg': 'busy_timeout' applies to driver sqlite only"}},
        {"several errors in one file, all reported in file order",
         "servr: {}\n" + db + "checks:\n  - name: a\n    module: sqll\n    database: nowhere\n",
         {"test.yaml:1:1: unknown key 'servr' in the configuration (did you mean 'server'?)",
          "test.yaml:6:13: check 'a': unknown module 'sqll' (did you mean 'sql'?)",
          "test.yaml:7:15: check 'a': undefined database 'nowhere'"}},
    };
    REQUIRE(cases.size() >= 25);
    for (const auto& c : cases) {
        INFO("case: " << c.what << "\n" << c.yaml);
        CHECK(errors_of(c.yaml) == c.expected);
    }
}

TEST_CASE("a missing configuration file names the file", "[config]") {
    try {
        invariantd::config::load_config_file("/nonexistent/invariantd.yaml");
        FAIL("expected an exception");
    } catch (const config_exception& e) {
        REQUIRE(e.errors().size() == 1);
        CHECK(e.errors()[0].to_string() ==
              "/nonexistent/invariantd.yaml: cannot read configuration file: No such file or directory");
    }
}

TEST_CASE("every truncation of a full configuration loads or fails with config errors only", "[config]") {
    const std::string full = R"(server:
  listen: "127.0.0.1:9898"
state_dir: ./state
log: { level: info, format: json }
databases:
  scheduler:
    driver: sqlite
    path: ./demo/scheduler.db
    busy_timeout: 5s
defaults:
  interval: 60s
  alert: { for: 0s, repeat_interval: 4h, severity: error, error_after: 3 }
checks:
  - name: orphans
    module: sql
    database: scheduler
    interval: 5m
    params: { query: "select 1", mode: rows, group_column: g }
    alert:
      when: "> 0"
      for: 10m
      receivers: [chat]
      summary: "{{value}} rows"
receivers:
  chat: { type: slack, url: "https://hooks.example.com/x" }
)";
    REQUIRE_NOTHROW(load_config_text(full, "full.yaml", "/tmp"));
    for (std::size_t length = 0; length < full.size(); ++length) {
        INFO("prefix length " << length);
        try {
            load_config_text(full.substr(0, length), "full.yaml", "/tmp");
        } catch (const config_exception& e) {
            CHECK_FALSE(e.errors().empty());
        } catch (const std::exception& e) {
            FAIL("unexpected exception: " << e.what());
        }
    }
}

TEST_CASE("receiver options of another type, and an unset variable in a flow mapping, are positioned errors",
          "[config][errors][receivers]") {
    unsetenv("INVARIANTD_T_UNSET");
    const auto errors = errors_of(R"(databases: { d: { driver: sqlite, path: d.db } }
checks: []
receivers:
  ops: { type: webhook, url: "http://x", resend_interval: 1m }
  pd: { type: pagerduty, routing_key: ${INVARIANTD_T_UNSET} }
  am: { type: alertmanager, url: "http://am", timeout: 0s }
)");
    REQUIRE(errors.size() == 3);
    CHECK(errors[0] == "test.yaml:4:59: receiver 'ops': 'resend_interval' applies to type alertmanager only");
    CHECK(errors[1] == "test.yaml:5:39: 'routing_key': environment variable 'INVARIANTD_T_UNSET' is not set");
    CHECK(errors[2] == "test.yaml:6:56: receiver 'am': 'timeout' must be greater than 0");
}

TEST_CASE("maintenance windows: bad names, days, times, zones, durations and one-off bounds are positioned errors",
          "[config][maintenance]") {
    const std::string m = "maintenance:\n  - name: nightly-etl\n    checks: [\"flex_*\"]\n";
    const std::vector<error_case> cases{
        {"unknown day", m + "    weekly: { days: [mon, funday], start: \"02:00\", duration: 1h, timezone: Europe/Berlin }\n",
         {"test.yaml:4:27: maintenance window 'nightly-etl': unknown day 'funday' (use sun, mon, tue, wed, thu, fri, sat)"}},
        {"no days", m + "    weekly: { days: [], start: \"02:00\", duration: 1h }\n",
         {"test.yaml:4:21: maintenance window 'nightly-etl': 'weekly.days' must be a non-empty list of days (mon, tue, …)"}},
        {"bad time", m + "    weekly: { days: [mon], start: \"24:00\", duration: 1h }\n",
         {"test.yaml:4:35: maintenance window 'nightly-etl': 'weekly.start' must be a time HH:MM from 00:00 to 23:59, got '24:00'"}},
        {"unknown zone", m + "    weekly: { days: [mon], start: \"02:00\", duration: 1h, timezone: Europe/Berlinn }\n",
         {"test.yaml:4:68: maintenance window 'nightly-etl': unknown time zone 'Europe/Berlinn' (an IANA name such as "
          "Europe/Berlin or UTC)"}},
        {"duration over 7 days", m + "    weekly: { days: [mon], start: \"02:00\", duration: 8d }\n",
         {"test.yaml:4:54: maintenance window 'nightly-etl': 'weekly.duration' must be greater than 0 and at most 7d, got '8d'"}},
        {"bad duration", m + "    weekly: { days: [mon], start: \"02:00\", duration: an hour }\n",
         {"test.yaml:4:54: 'weekly.duration': invalid duration 'an hour' (use e.g. 500ms, 30s, 5m, 1h, 1d)"}},
        {"until not after from", m + "    from: 2026-12-06T02:00:00Z\n    until: 2026-12-05T22:00:00Z\n",
         {"test.yaml:5:12: maintenance window 'nightly-etl': 'until' must be after 'from'"}},
        {"from not RFC 3339", m + "    from: next friday\n    until: 2026-12-05T22:00:00Z\n",
         {"test.yaml:4:11: maintenance window 'nightly-etl': 'from' must be an RFC 3339 time such as "
          "2026-12-05T22:00:00Z, got 'next friday'"}},
        {"from without until", m + "    from: \"2026-12-05T22:00:00Z\"\n",
         {"test.yaml:4:11: maintenance window 'nightly-etl': a one-off window needs both 'from' and 'until'"}},
        {"neither", m, {"test.yaml:2:5: maintenance window 'nightly-etl': needs 'weekly' or 'from' and 'until'"}},
        {"both", m + "    weekly: { days: [mon], start: \"02:00\", duration: 1h }\n    from: 2026-12-05T22:00:00Z\n",
         {"test.yaml:5:11: maintenance window 'nightly-etl': give either 'weekly' or 'from'/'until', not both"}},
        {"bad action", m + "    action: mute\n    from: 2026-12-05T22:00:00Z\n    until: 2026-12-06T02:00:00Z\n",
         {"test.yaml:4:13: 'action' must be one of silence|pause, got 'mute'"}},
        {"bad name and empty checks",
         "maintenance:\n  - name: \"nightly etl\"\n    checks: []\n    from: 2026-12-05T22:00:00Z\n    until: 2026-12-06T02:00:00Z\n",
         {"test.yaml:2:11: maintenance window #1: name 'nightly etl' must match [A-Za-z0-9_.-]+",
          "test.yaml:3:13: maintenance window 'nightly etl': 'checks' must be a non-empty list of check names or globs"}},
        {"keep_firing_for is a duration", "defaults:\n  alert: { keep_firing_for: soon }\n",
         {"test.yaml:2:29: 'alert.keep_firing_for': invalid duration 'soon' (use e.g. 500ms, 30s, 5m, 1h, 1d)"}},
    };
    for (const auto& c : cases) {
        INFO("case: " << c.what << "\n" << c.yaml);
        CHECK(errors_of(c.yaml) == c.expected);
    }
    // And a good one loads: quoted and unquoted times, full day names.
    const auto config = load_config_text(
        "maintenance:\n  - name: nightly-etl\n    checks: [\"flex_*\"]\n"
        "    weekly: { days: [Monday, fri], start: \"02:00\", duration: 1h, timezone: Europe/Berlin }\n"
        "    action: pause\n  - name: migration-2026-12\n    checks: [\"*\"]\n    from: 2026-12-05T22:00:00Z\n"
        "    until: \"2026-12-06T02:00:00Z\"\n",
        "test.yaml", "/tmp");
    REQUIRE(config.maintenance.size() == 2);
    CHECK(config.maintenance[0].weekly->days == std::vector<unsigned>{1, 5});
    CHECK(config.maintenance[0].action == invariantd::config::maintenance_action::pause);
    CHECK(config.maintenance[1].until > config.maintenance[1].from);
}
