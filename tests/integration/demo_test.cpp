// The embedded default: the demo databases built by deploy/make-demo-databases.sh from the
// checked-in SQL, checked with config/demo.yaml exactly as deploy/demo.sh runs it.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;

TEST_CASE("the demo worlds carry the runbooks' planted violations", "[demo]") {
    temp_dir dir;
    // Same layout as the repository: config/demo.yaml refers to ../demo/*.db.
    std::filesystem::create_directories(dir.path() / "config");
    std::filesystem::copy_file(source_path("config/demo.yaml"), dir.path() / "config/demo.yaml");
    const auto built = run_command({source_path("deploy/make-demo-databases.sh"), (dir.path() / "demo").string()});
    REQUIRE(built.exit_code == 0);

    const auto result = run_command({daemon_binary(), "once", "-c", (dir.path() / "config/demo.yaml").string(), "--json"});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    const auto report = nlohmann::json::parse(result.out);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& check : report["checks"]) by_name[check["name"]] = check;

    // Runbook 000: event 221 is 4 short (Bartender 1/3, Banquet Server/Runner 0/2), event
    // 224 is 2 short; the draft and the completed event do not count.
    CHECK(by_name["shift_coverage"]["value"] == 6);
    CHECK(by_name["understaffed_requirements"]["value"] == 3);
    const auto& worst = by_name["understaffed_requirements"]["samples"][0];
    CHECK(worst["event_id"] == 221);
    CHECK(worst["title"] == "Downtown Concert After-Party");
    CHECK(worst["role"] == "Bartender");
    CHECK(worst["needed"] == 3);
    CHECK(worst["actual"] == 1);
    CHECK(by_name["orphaned_shifts"]["value"] == 2);
    // Runbook 002: 606999 has no Supervisor; 608001's Supervisor is not scheduled.
    CHECK(by_name["core_without_supervisor"]["value"] == 1);
    CHECK(by_name["core_without_supervisor"]["samples"][0]["event_number"] == "606999");
    CHECK(by_name["supervisor_unscheduled"]["value"] == 1);
    CHECK(by_name["supervisor_unscheduled"]["samples"][0]["event_number"] == "608001");
    for (const auto& [name, check] : by_name) {
        INFO(name);
        CHECK(check["outcome"] == "violation");
    }
}
