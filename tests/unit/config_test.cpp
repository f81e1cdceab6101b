#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "daemon/config/loader.hpp"

using namespace invariantd;
using invariantd::config::load_config_text;

TEST_CASE("defaults apply to every check and per-check keys override them", "[config]") {
    const auto config = load_config_text(R"(
databases:
  demo: { driver: sqlite, path: data/demo.db }
defaults:
  interval: 2m
  timeout: 5s
  max_samples: 3
  alert: { for: 10m, severity: warning, error_after: 5 }
checks:
  - name: inherits
    module: sql
    database: demo
    params: { query: "select 1" }
  - name: overrides
    module: sql
    database: demo
    interval: 5m
    max_samples: 7
    params: { query: "select 1", mode: scalar }
    alert: { when: "> 0", severity: critical }
)",
                                         "t.yaml", "/srv/inv");
    REQUIRE(config.checks.size() == 2);
    const auto& inherits = config.checks[0];
    CHECK(inherits.interval == std::chrono::minutes(2));
    CHECK(inherits.timeout == std::chrono::seconds(5));
    CHECK(inherits.max_samples == 3);
    CHECK(inherits.alert.for_duration == std::chrono::minutes(10));
    CHECK(inherits.alert.severity == "warning");
    CHECK(inherits.alert.error_after == 5);
    CHECK_FALSE(inherits.alert.when.has_value());
    CHECK(inherits.params["mode"] == "rows");
    CHECK(inherits.params["group_column"].is_null());

    const auto& overrides = config.checks[1];
    CHECK(overrides.interval == std::chrono::minutes(5));
    CHECK(overrides.max_samples == 7);
    CHECK(overrides.alert.severity == "critical");
    CHECK(overrides.alert.for_duration == std::chrono::minutes(10));  // from defaults
    REQUIRE(overrides.alert.when.has_value());
    CHECK(overrides.alert.when->holds(1));
    CHECK_FALSE(overrides.alert.when->holds(0));
    CHECK(overrides.params["mode"] == "scalar");

    // Relative paths resolve against the configuration file's directory.
    CHECK(config.databases[0].path == "/srv/inv/data/demo.db");
    CHECK(config.state_dir == "/srv/inv/state");
    CHECK(config.server.listen == "127.0.0.1:9898");
}

TEST_CASE("${VAR} and ${file:...} expand, and secret values are collected for redaction", "[config]") {
    const auto dir = std::filesystem::temp_directory_path() / "invariantd-config-test";
    std::filesystem::create_directories(dir);
    {
        std::ofstream(dir / "routing_key") << "pd-routing-key-from-file\n";
    }
    setenv("INVARIANTD_TEST_TOKEN", "api-token-from-env", 1);
    setenv("INVARIANTD_TEST_HOOK", "hmac-secret-from-env", 1);
    const auto config = load_config_text(R"(
server:
  listen: "[::1]:0"
  api_token: ${INVARIANTD_TEST_TOKEN}
receivers:
  oncall: { type: pagerduty, routing_key: "${file:routing_key}" }
  ops: { type: webhook, url: "https://hooks.example.com/x", hmac_secret: "${INVARIANTD_TEST_HOOK}" }
  am: { type: alertmanager, url: ["http://am-0:9093", "http://am-1:9093"] }
)",
                                         "t.yaml", dir.string());
    CHECK(config.server.host == "::1");
    CHECK(config.server.port == 0);
    REQUIRE(config.server.api_token);
    CHECK(*config.server.api_token == "api-token-from-env");
    REQUIRE(config.receivers.size() == 3);
    CHECK(config.receivers[0].routing_key == "pd-routing-key-from-file");  // trailing newline stripped
    CHECK(config.receivers[0].urls == std::vector<std::string>{"https://events.pagerduty.com/v2/enqueue"});
    CHECK(config.receivers[1].hmac_secret == "hmac-secret-from-env");
    CHECK(config.receivers[2].urls.size() == 2);
    const auto& secrets = config.secrets;
    for (const char* secret : {"api-token-from-env", "pd-routing-key-from-file", "hmac-secret-from-env"}) {
        INFO(secret);
        CHECK(std::find(secrets.begin(), secrets.end(), secret) != secrets.end());
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("JSON is accepted since it is YAML", "[config]") {
    const auto config = load_config_text(
        R"({"databases": {"d": {"driver": "sqlite", "path": "/x.db"}},
            "checks": [{"name": "c", "module": "sql", "database": "d", "params": {"query": "select 1"}}]})",
        "t.json", "/");
    REQUIRE(config.checks.size() == 1);
    CHECK(config.checks[0].database == "d");
}

TEST_CASE("a check definition compares equal only when nothing changed", "[config]") {
    const std::string base = R"(
databases:
  d: { driver: sqlite, path: /x.db }
checks:
  - { name: c, module: sql, database: d, params: { query: "select 1" } }
)";
    const auto a = load_config_text(base, "t.yaml", "/");
    const auto b = load_config_text(base, "t.yaml", "/");
    CHECK(a.checks[0] == b.checks[0]);
    auto changed = base;
    changed.replace(changed.find("select 1"), 8, "select 2");
    const auto c = load_config_text(changed, "t.yaml", "/");
    CHECK_FALSE(a.checks[0] == c.checks[0]);
}

TEST_CASE("the SPEC's receivers example loads: ${VAR} unquoted inside flow mappings", "[config][receivers]") {
    setenv("INVARIANTD_T_PD", "pd-key-123456", 1);
    setenv("INVARIANTD_T_HOOK", "hook-secret-123456", 1);
    setenv("INVARIANTD_T_SLACK", "https://hooks.slack.com/services/T0/B0/x", 1);
    const auto config = load_config_text(R"yaml(
databases:
  demo: { driver: sqlite, path: demo.db, busy_timeout: 5s }   # a comment with ${NOT_A_REFERENCE}
checks:
  - { name: literal, module: sql, database: demo, params: { query: "SELECT '$(x)' WHERE 0" } }
receivers:
  oncall:  { type: pagerduty, routing_key: ${INVARIANTD_T_PD} }   # url defaults to PagerDuty's enqueue endpoint
  am:      { type: alertmanager, url: ["http://am-0:9093", "http://am-1:9093"], resend_interval: 30s }
  ops:     { type: webhook, url: "https://hooks.example.com/x", hmac_secret: ${INVARIANTD_T_HOOK}, timeout: 3s }
  chat:    { type: slack, url: ${INVARIANTD_T_SLACK} }
  plain:   { type: webhook, url: "https://hooks.example.com/$(kept)" }
)yaml",
                                         "t.yaml", "/");
    REQUIRE(config.receivers.size() == 5);
    std::map<std::string, config::receiver_config> by_name;
    for (const auto& receiver : config.receivers) by_name[receiver.name] = receiver;
    CHECK(by_name["oncall"].routing_key == "pd-key-123456");
    CHECK(by_name["oncall"].urls == std::vector<std::string>{"https://events.pagerduty.com/v2/enqueue"});
    CHECK(by_name["am"].urls.size() == 2);
    CHECK(by_name["am"].resend_interval == std::chrono::seconds(30));
    CHECK(by_name["am"].resend_resolved_for == std::chrono::minutes(15));
    CHECK(by_name["ops"].hmac_secret == "hook-secret-123456");
    CHECK(by_name["ops"].timeout == std::chrono::seconds(3));
    CHECK(by_name["chat"].urls == std::vector<std::string>{"https://hooks.slack.com/services/T0/B0/x"});
    CHECK(by_name["plain"].urls == std::vector<std::string>{"https://hooks.example.com/$(kept)"});
    CHECK(config.checks.at(0).params["query"] == "SELECT '$(x)' WHERE 0");
    const auto& secrets = config.secrets;
    CHECK(std::find(secrets.begin(), secrets.end(), "pd-key-123456") != secrets.end());
    CHECK(std::find(secrets.begin(), secrets.end(), "hook-secret-123456") != secrets.end());
}
