// The embedded default: the demo databases built by deploy/make-demo-databases.sh from the
// checked-in SQL, checked with config/demo.yaml exactly as deploy/demo.sh runs it.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/support/demo_world.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;

TEST_CASE("the demo worlds carry the runbooks' planted violations", "[demo]") {
    temp_dir dir;
    const auto result = run_command({daemon_binary(), "once", "-c", write_demo_world(dir), "--json"});
    INFO(result.out << result.err);
    CHECK(result.exit_code == 1);
    const auto report = nlohmann::json::parse(result.out);
    std::map<std::string, nlohmann::json> by_name;
    for (const auto& check : report["checks"]) by_name[check["name"]] = check;

    REQUIRE(by_name.size() == 9);
    // Runbook 000: event 221 is 4 short (Bartender 1/3, Banquet Server/Runner 0/2), event
    // 224 is 2 short; the draft and the completed event do not count.
    const auto& shifts = by_name["shift_coverage"];
    CHECK(shifts["value"] == 6);
    CHECK(shifts["details"]["events_affected"] == 2);
    CHECK(shifts["details"]["orphaned_shifts"] == 2);
    CHECK(shifts["summary"] == "6 shifts missing across 2 events");
    CHECK(shifts["severity"] == "critical");
    const auto& worst = shifts["samples"][0];
    CHECK(worst["event_id"] == 221);
    CHECK(worst["title"] == "Downtown Concert After-Party");
    CHECK(worst["role"] == "Bartender");
    CHECK(worst["needed"] == 3);
    CHECK(worst["actual"] == 1);
    // Runbook 001: groups of 2 and 3, no constraint; 1 failed sync in 14 within the hour.
    CHECK(by_name["crew_assignment_duplicates"]["value"] == 3);
    CHECK(by_name["crew_assignment_duplicates"]["details"]["unique_constraint_present"] == 0);
    CHECK(by_name["crew_sync_failure_rate"]["details"]["syncs_total"] == 14);
    CHECK(by_name["crew_sync_failure_rate"]["details"]["syncs_failed"] == 1);
    CHECK(by_name["crew_sync_failure_rate"]["details"]["slow_syncs"] == 2);
    // Runbook 002: 606999 has no Supervisor; 608001's Supervisor is not scheduled.
    CHECK(by_name["core_supervisor_pairing"]["value"] == 1);
    CHECK(by_name["core_supervisor_pairing"]["samples"][0]["event_number"] == "606999");
    CHECK(by_name["core_supervisor_pairing"]["samples"][1]["event_number"] == "608001");
    // Runbook 003.
    CHECK(by_name["audit_orphans"]["value"] == 3);
    CHECK(by_name["stuck_scans"]["value"] == 2);
    CHECK(by_name["active_sessions_per_location"]["value"] == 1);
    // Runbook 004.
    CHECK(by_name["server_id_coverage"]["value"] == 96);
    CHECK(by_name["sales_without_user"]["value"] == 1);
    for (const auto& [name, check] : by_name) {
        INFO(name);
        CHECK(check["outcome"] == "violation");
    }
}
