// The command line of README.md "Command line" against the real binary.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;

namespace {

struct world {
    temp_dir dir;
    world() {
        sqlite_exec((dir.path() / "pos.db").string(),
                    "CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER);"
                    "INSERT INTO sales (server_id) VALUES (7), (NULL), (NULL), (8);");
    }
    std::string config(const std::string& checks) const {
        return dir.write("invariantd.yaml",
                         "databases:\n  pos: { driver: sqlite, path: pos.db }\nchecks:\n" + checks);
    }
};

const std::string passing =
    "  - { name: passing, module: sql, database: pos, params: { mode: scalar, query: \"SELECT count(*) FROM sales\" }, "
    "alert: { when: \"> 100\" } }\n";
const std::string violating =
    "  - { name: violating, module: sql, database: pos, params: { query: \"SELECT id FROM sales WHERE server_id IS NULL\" }, "
    "alert: { when: \"> 0\" } }\n";
const std::string broken = "  - { name: broken, module: sql, database: pos, params: { query: \"SELECT * FROM nope\" } }\n";

}  // namespace

TEST_CASE("once exits 0 when every check passes", "[cli]") {
    world w;
    const auto result = run_command({daemon_binary(), "once", "-c", w.config(passing)});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("passing: value 4 (alert when > 100)") != std::string::npos);
}

TEST_CASE("once exits 1 on a violation and prints the offending rows", "[cli]") {
    world w;
    const auto result = run_command({daemon_binary(), "once", "-c", w.config(passing + violating)});
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("VIOLATION violating: value 2") != std::string::npos);
    // Each offending row with its offender key.
    CHECK(result.out.find("{\"id\":2,\"key\":\"[\\\"2\\\"]\"}") != std::string::npos);
    CHECK(result.out.find("{\"id\":3,\"key\":\"[\\\"3\\\"]\"}") != std::string::npos);
}

TEST_CASE("once exits 2 when a check cannot run, even if another violates", "[cli]") {
    world w;
    auto result = run_command({daemon_binary(), "once", "-c", w.config(broken)});
    CHECK(result.exit_code == 2);
    CHECK(result.out.find("ERROR     broken: ") != std::string::npos);
    CHECK(result.out.find("no such table: nope") != std::string::npos);
    result = run_command({daemon_binary(), "once", "-c", w.config(violating + broken)});
    CHECK(result.exit_code == 2);
}

TEST_CASE("once --json and --check select and describe the runs", "[cli]") {
    world w;
    const auto path = w.config(passing + violating + broken);
    auto result = run_command({daemon_binary(), "once", "-c", path, "--check", "violating", "--check", "passing", "--json"});
    CHECK(result.exit_code == 1);
    const auto report = nlohmann::json::parse(result.out);
    CHECK(report["exit_code"] == 1);
    REQUIRE(report["checks"].size() == 2);
    CHECK(report["checks"][0]["name"] == "violating");
    CHECK(report["checks"][0]["outcome"] == "violation");
    CHECK(report["checks"][0]["value"] == 2);
    CHECK(report["checks"][0]["condition"] == "> 0");
    CHECK(report["checks"][0]["samples"] == nlohmann::json::parse(R"([{"id":2,"key":"[\"2\"]"},{"id":3,"key":"[\"3\"]"}])"));
    CHECK(report["checks"][0]["offenders"] == nlohmann::json::parse(R"(["[\"2\"]","[\"3\"]"])"));
    CHECK(report["checks"][0]["truncated"] == false);
    CHECK(report["checks"][1]["name"] == "passing");
    CHECK(report["checks"][1]["outcome"] == "ok");

    result = run_command({daemon_binary(), "once", "-c", path, "--check", "nope"});
    CHECK(result.exit_code == 64);
    CHECK(result.err.find("no check named 'nope'") != std::string::npos);
}

TEST_CASE("once --baseline lets known offenders through and stops a change that adds one", "[cli][offenders]") {
    world w;
    const auto path = w.config(passing + violating);
    const auto first = run_command({daemon_binary(), "once", "-c", path, "--json"});
    CHECK(first.exit_code == 1);
    const auto previous = w.dir.write("prev.json", first.out);

    // The same debt: the deploy gate passes.
    auto result = run_command({daemon_binary(), "once", "-c", path, "--baseline", previous});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("violating: [") == std::string::npos);

    // One more sale without server_id: exactly it is new, and the gate stops.
    sqlite_exec((w.dir.path() / "pos.db").string(), "INSERT INTO sales (id, server_id) VALUES (5, NULL);");
    result = run_command({daemon_binary(), "once", "-c", path, "--baseline", previous});
    CHECK(result.exit_code == 1);
    CHECK(result.out.find("violating: [\"5\"]\n") != std::string::npos);
    CHECK(result.out.find("violating: [\"2\"]") == std::string::npos);
    result = run_command({daemon_binary(), "once", "-c", path, "--baseline", previous, "--json"});
    CHECK(result.exit_code == 1);
    CHECK(nlohmann::json::parse(result.out)["checks"][1]["new_offenders"] == nlohmann::json::parse(R"(["[\"5\"]"])"));

    // A file that is not an earlier once --json output: exit 78, naming the file and the problem.
    const auto wrong = w.dir.write("wrong.json", R"({"checks": [{"name": "violating"}]})");
    result = run_command({daemon_binary(), "once", "-c", path, "--baseline", wrong});
    CHECK(result.exit_code == 78);
    CHECK(result.err.find("baseline " + wrong + ": checks[0] ('violating') has no \"offenders\" list") != std::string::npos);
    result = run_command({daemon_binary(), "once", "-c", path, "--baseline"});
    CHECK(result.exit_code == 64);
    CHECK(result.err.find("--baseline needs a value") != std::string::npos);
    const auto garbage = w.dir.write("garbage.json", "not json");
    result = run_command({daemon_binary(), "once", "-c", path, "--baseline", garbage});
    CHECK(result.exit_code == 78);
    CHECK(result.err.find("baseline " + garbage + ": not JSON") != std::string::npos);
}

TEST_CASE("validate prints a summary or every error with its position and exits 78", "[cli]") {
    world w;
    auto result = run_command({daemon_binary(), "validate", "-c", w.config(passing + violating)});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("configuration OK: 1 database, 2 checks, 0 receivers") != std::string::npos);

    const auto bad = w.dir.write("bad.yaml", "databases:\n  pos: { driver: sqlite, path: pos.db }\nchecks:\n"
                                             "  - name: a\n    module: sql\n    database: pos\n    intervall: 5m\n"
                                             "    params: { query: \"select 1\" }\n  - { name: a, module: sql, database: po }\n");
    result = run_command({daemon_binary(), "validate", "-c", bad});
    CHECK(result.exit_code == 78);
    CHECK(result.err.find(bad + ":7:5: unknown key 'intervall' in check 'a' (did you mean 'interval'?)") != std::string::npos);
    CHECK(result.err.find(bad + ":9:13: duplicate check name 'a' (first at line 4)") != std::string::npos);
    CHECK(result.err.find(bad + ":9:39: check 'a': undefined database 'po' (did you mean 'pos'?)") != std::string::npos);
    CHECK(result.err.find(bad + ":9:5: check 'a': missing required parameter 'query'") != std::string::npos);
    CHECK(result.err.find("configuration invalid (4 errors)") != std::string::npos);

    // run refuses a broken configuration the same way.
    result = run_command({daemon_binary(), "run", "-c", bad});
    CHECK(result.exit_code == 78);
    result = run_command({daemon_binary(), "validate", "-c", (w.dir.path() / "missing.yaml").string()});
    CHECK(result.exit_code == 78);
}

TEST_CASE("modules lists every module with its parameters and defaults", "[cli]") {
    const auto result = run_command({daemon_binary(), "modules"});
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("sql — ") != std::string::npos);
    CHECK(result.out.find("query: (required)") != std::string::npos);
    CHECK(result.out.find("mode: rows  (rows|scalar)") != std::string::npos);
    CHECK(result.out.find("group_column: null") != std::string::npos);
    // Nested list defaults are printed whole, not only their type (orphans' two relations).
    const auto orphans = result.out.substr(result.out.find("orphans — "));
    CHECK(orphans.find("relations: (list of mappings)") != std::string::npos);
    CHECK(orphans.find("- {child: racks, column: audit_session_id, parent: audit_sessions, parent_column: id, "
                       "null_is_orphan: false}") != std::string::npos);
    CHECK(orphans.find("- {child: scans, column: rack_id, parent: racks, parent_column: id, null_is_orphan: false}") !=
          std::string::npos);
    const auto schema = result.out.substr(result.out.find("schema — "));
    CHECK(schema.find("expectations: (list of mappings)") != std::string::npos);
    CHECK(schema.find("default: []") != std::string::npos);
}

TEST_CASE("the version flag and usage errors", "[cli]") {
    auto result = run_command({daemon_binary(), "--version"});
    CHECK(result.exit_code == 0);
    CHECK(result.out.rfind("invariantd 0.1.0 (revision ", 0) == 0);
    result = run_command({daemon_binary(), "frobnicate"});
    CHECK(result.exit_code == 64);
    CHECK(result.err.find("unknown command 'frobnicate'") != std::string::npos);
}

TEST_CASE("secrets from the environment never reach output or logs", "[cli][secrets]") {
    world w;
    const auto path = w.dir.write(
        "secret.yaml", "server: { api_token: \"${TEST_TOKEN}\" }\nlog: { level: debug }\n"
                       "databases:\n  pos: { driver: sqlite, path: pos.db }\n"
                       "receivers:\n  pd: { type: pagerduty, routing_key: \"${TEST_ROUTING_KEY}\" }\n"
                       "checks:\n  - { name: leak, module: sql, database: pos, params: { query: \"SELECT '${TEST_TOKEN}' AS t FROM nope\" } }\n");
    const std::map<std::string, std::string> env{{"TEST_TOKEN", "tok-4f1e-secret"}, {"TEST_ROUTING_KEY", "rk-8c2d-secret"}};
    for (const auto& args : std::vector<std::vector<std::string>>{{daemon_binary(), "validate", "-c", path},
                                                                   {daemon_binary(), "once", "-c", path},
                                                                   {daemon_binary(), "once", "-c", path, "--json"}}) {
        const auto result = run_command(args, {}, env);
        INFO(result.out << result.err);
        CHECK(result.out.find("tok-4f1e-secret") == std::string::npos);
        CHECK(result.err.find("tok-4f1e-secret") == std::string::npos);
        CHECK(result.out.find("rk-8c2d-secret") == std::string::npos);
        CHECK(result.err.find("rk-8c2d-secret") == std::string::npos);
    }
}
