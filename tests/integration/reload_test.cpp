// Reload by SIGHUP and POST /-/reload against the real daemon, and graceful SIGTERM.
#include <catch2/catch.hpp>

#include <signal.h>

#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

const std::string check_a =
    "  - { name: a, module: sql, database: pos, interval: 1h, params: { mode: scalar, query: \"SELECT count(*) FROM sales\" } }\n";
const std::string check_b =
    "  - { name: b, module: sql, database: pos, interval: 1h, params: { query: \"SELECT id FROM sales\" } }\n";
const std::string check_c =
    "  - { name: c, module: sql, database: pos, interval: 1h, params: { query: \"SELECT id FROM sales WHERE server_id IS NULL\" } }\n";

nlohmann::json check_json(std::uint16_t port, const std::string& name) {
    const auto reply = http_get(port, "/api/v1/checks/" + name);
    return reply.status == 200 ? nlohmann::json::parse(reply.body) : nlohmann::json();
}

std::set<std::string> check_names(std::uint16_t port) {
    std::set<std::string> names;
    for (const auto& check : nlohmann::json::parse(http_get(port, "/api/v1/checks").body)) names.insert(check["name"]);
    return names;
}

}  // namespace

TEST_CASE("SIGHUP with a broken config keeps the old checks; a good one keeps unchanged checks' state", "[reload]") {
    daemon_fixture f(check_a + check_b);
    REQUIRE(poll_until([&] {
        return !check_json(f.port(), "a")["last_run"].is_null() && !check_json(f.port(), "b")["last_run"].is_null();
    }));
    const auto a_before = check_json(f.port(), "a");

    f.dir.write("invariantd.yaml", f.config_text(check_a + "  - { name: b, module: sqll, database: pos }\n"));
    f.daemon->signal(SIGHUP);
    REQUIRE(poll_until([&] { return metric_value(f.metrics(), "invariantd_config_last_reload_successful") == 0.0; }));
    CHECK(check_names(f.port()) == std::set<std::string>{"a", "b"});
    CHECK(f.daemon->log().find("unknown module 'sqll' (did you mean 'sql'?)") != std::string::npos);
    // The old configuration still runs: b answers a run request.
    CHECK(http_call(f.port(), "POST", "/api/v1/checks/b/run?wait=1").status == 200);

    // a unchanged, b removed, c added.
    f.dir.write("invariantd.yaml", f.config_text(check_a + check_c));
    f.daemon->signal(SIGHUP);
    REQUIRE(poll_until([&] { return check_names(f.port()) == std::set<std::string>{"a", "c"}; }));
    REQUIRE(poll_until([&] { return !check_json(f.port(), "c")["last_run"].is_null(); }));
    const auto text = f.metrics();
    CHECK(metric_value(text, "invariantd_config_last_reload_successful") == 1.0);
    CHECK(text.find("check=\"b\"") == std::string::npos);
    CHECK(metric_value(text, "invariantd_check_value{check=\"c\"") == 2.0);
    // a kept its schedule and last result: with a 1h interval a restarted check would have
    // run again at once and changed last_run.
    const auto a_after = check_json(f.port(), "a");
    CHECK(a_after["last_run"] == a_before["last_run"]);
    CHECK(a_after["value"] == 4);
}

TEST_CASE("POST /-/reload reports the errors of a broken config and applies a good one", "[reload]") {
    daemon_fixture f(check_a);
    f.dir.write("invariantd.yaml", f.config_text(check_a + "  - { name: c, module: sql, database: pos, intervall: 1m }\n"));
    auto reply = http_call(f.port(), "POST", "/-/reload");
    CHECK(reply.status == 500);
    const auto body = nlohmann::json::parse(reply.body);
    REQUIRE(body["errors"].size() == 2);
    // In file order: the check's own position first, then its misspelt key.
    CHECK(body["errors"][0].get<std::string>().find("invariantd.yaml:9:5: check 'c': missing required parameter 'query'") !=
          std::string::npos);
    CHECK(body["errors"][1].get<std::string>().find(
              "invariantd.yaml:9:44: unknown key 'intervall' in check 'c' (did you mean 'interval'?)") != std::string::npos);
    CHECK(check_names(f.port()) == std::set<std::string>{"a"});

    f.dir.write("invariantd.yaml", f.config_text(check_a + check_c));
    reply = http_call(f.port(), "POST", "/-/reload");
    CHECK(reply.status == 200);
    CHECK(check_names(f.port()) == std::set<std::string>{"a", "c"});
    CHECK(metric_value(f.metrics(), "invariantd_config_last_reload_successful") == 1.0);

    // A redefined check starts its series afresh: the old definition's runs are not its runs.
    auto runs_of_c = [&] {
        const auto text = f.metrics();
        double sum = 0;
        for (const char* outcome : {"ok", "violation", "error", "timeout"})
            sum += metric_value(text, std::string("invariantd_check_runs_total{check=\"c\",outcome=\"") + outcome + "\"}")
                       .value_or(0);
        return sum;
    };
    REQUIRE(poll_until([&] { return runs_of_c() == 1.0; }));
    const auto first_run = check_json(f.port(), "c")["last_run"];
    f.dir.write("invariantd.yaml",
                f.config_text(check_a + "  - { name: c, module: sql, database: pos, interval: 1h, params: { query: "
                                        "\"SELECT id FROM sales WHERE server_id IS NOT NULL\" } }\n"));
    REQUIRE(http_call(f.port(), "POST", "/-/reload").status == 200);
    REQUIRE(poll_until([&] { return check_json(f.port(), "c")["last_run"] != first_run; }));
    CHECK(runs_of_c() == 1.0);
}

TEST_CASE("SIGTERM and SIGINT stop the daemon cleanly with exit code 0", "[signals]") {
    for (int signal_number : {SIGTERM, SIGINT}) {
        daemon_fixture f(check_a);
        REQUIRE(poll_until([&] { return !check_json(f.port(), "a")["last_run"].is_null(); }));
        f.daemon->signal(signal_number);
        const auto code = f.daemon->wait_exit(20s);
        REQUIRE(code.has_value());
        CHECK(*code == 0);
        CHECK(f.daemon->log().find("invariantd stopped") != std::string::npos);
    }
}

TEST_CASE("log format json writes one JSON object per line", "[logging]") {
    temp_dir dir;
    sqlite_exec((dir.path() / "pos.db").string(), "CREATE TABLE sales (id INTEGER);");
    const auto config = dir.write("invariantd.yaml",
                                  "server: { listen: \"127.0.0.1:0\", api_token: \"${TEST_TOKEN}\" }\n"
                                  "log: { level: debug, format: json }\n"
                                  "databases:\n  pos: { driver: sqlite, path: pos.db }\n"
                                  "checks:\n  - { name: broken, module: sql, database: pos, interval: 1h, params: "
                                  "{ query: \"SELECT 'tok-77ab-secret' FROM nope\" } }\n");
    daemon_process daemon(config, (dir.path() / "daemon.log").string(), {{"TEST_TOKEN", "tok-77ab-secret"}});
    REQUIRE(poll_until([&] { return daemon.log().find("could not run") != std::string::npos; }));
    daemon.signal(SIGTERM);
    REQUIRE(daemon.wait_exit(20s) == std::optional<int>(0));
    std::istringstream lines(daemon.log());
    int parsed = 0;
    for (std::string line; std::getline(lines, line);) {
        INFO(line);
        const auto object = nlohmann::json::parse(line);
        CHECK(object.contains("ts"));
        CHECK(object.contains("level"));
        CHECK(object.contains("msg"));
        CHECK(line.find("tok-77ab-secret") == std::string::npos);
        ++parsed;
    }
    CHECK(parsed >= 3);  // listening, the failed check, stopped
}
