// The ready-made configurations in config/examples/ validate, and their checks catch what
// their runbooks describe.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;

TEST_CASE("every example configuration validates", "[examples]") {
    temp_dir dir;
    const auto key = dir.write("pd_routing_key", "R0UT1NGKEY\n");
    const std::map<std::string, std::string> env{
        {"INVARIANTD_API_TOKEN", "token"}, {"STAFFING_DATABASE_URL", "postgresql://u:p@db/staffing"},
        {"CREW_DATABASE_URL", "host=db dbname=crew"}, {"STOCK_AUDIT_DATABASE_URL", "host=db dbname=audit"},
        {"POS_DATABASE_URL", "host=db dbname=pos"}, {"PD_ROUTING_KEY", "R0UT1NGKEY"},
        {"SLACK_WEBHOOK_URL", "https://hooks.slack.example/services/T/B/X"}, {"HOOK_SECRET", "s3cret"}};
    for (const char* name : {"staffing", "crew-sync", "scheduler", "stock-audit", "pos"}) {
        std::string text = read_file(source_path(std::string("config/examples/") + name + ".yaml"));
        // crew-sync reads its routing key from a Docker/Kubernetes secret file.
        const auto secret = text.find("/run/secrets/pd_routing_key");
        if (secret != std::string::npos) text.replace(secret, 27, key);
        const auto path = dir.write(std::string(name) + ".yaml", text);
        const auto result = run_command({daemon_binary(), "validate", "-c", path}, {}, env);
        INFO(name << ": " << result.out << result.err);
        CHECK(result.exit_code == 0);
        CHECK(result.out.find("configuration OK") != std::string::npos);
    }
}

TEST_CASE("stock-audit example: the sql check catches a location with two active sessions", "[examples][postgres]") {
    const auto dsn = pg_fresh_database("example_stock_audit");
    pg_exec(dsn, "CREATE TABLE audit_sessions (id serial PRIMARY KEY, location_id int NOT NULL, status text NOT NULL);"
                 "INSERT INTO audit_sessions (location_id, status) VALUES (10, 'active'), (10, 'active'), (11, 'active'), "
                 "(12, 'closed'), (12, 'closed');");
    const auto result = run_command({daemon_binary(), "once", "-c", source_path("config/examples/stock-audit.yaml"), "--check",
                                     "active_sessions_per_location", "--json"},
                                    {}, {{"STOCK_AUDIT_DATABASE_URL", dsn}, {"PD_ROUTING_KEY", "R0UT1NGKEY"}});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    const auto report = nlohmann::json::parse(result.out);
    CHECK(report["checks"][0]["value"] == 1);
    CHECK(report["checks"][0]["samples"][0]["location_id"] == 10);
    CHECK(report["checks"][0]["samples"][0]["active_sessions"] == 2);
}
