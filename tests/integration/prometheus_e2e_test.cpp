// End to end with Debian's real Prometheus server: it scrapes the daemon running the demo
// worlds, and its query API must report the runbooks' planted figures.
#include <catch2/catch.hpp>


#include "tests/support/demo_world.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/prometheus_server.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;

namespace {

/// The single sample of an instant-query answer, or nullopt while there is none.
std::optional<nlohmann::json> single_sample(const nlohmann::json& answer) {
    if (answer.value("status", "") != "success") return std::nullopt;
    const auto& result = answer["data"]["result"];
    if (result.size() != 1) return std::nullopt;
    return result[0];
}

}  // namespace

TEST_CASE("a real Prometheus scrapes the demo and its API answers the planted violation counts", "[prometheus][e2e]") {
    temp_dir dir;
    daemon_process daemon(write_demo_world(dir), (dir.path() / "daemon.log").string());
    // A second target that only records what Prometheus sends: its real Accept headers.
    test_receiver accept_probe;
    accept_probe.respond_with([](const received_request&, std::size_t) {
        return canned_response{200, {{"Content-Type", "text/plain; version=0.0.4"}}, "probe_up 1\n"};
    });
    prometheus_server prometheus(dir, {{"invariantd", "127.0.0.1:" + std::to_string(daemon.port())},
                                       {"accept_probe", "127.0.0.1:" + std::to_string(accept_probe.port())}});
    INFO(prometheus.log());

    // The figures the runbooks found, planted in config/demo-data/*.sql.
    const std::map<std::string, double> planted{
        {"shift_coverage", 6},       {"crew_assignment_duplicates", 3}, {"core_supervisor_pairing", 1},
        {"audit_orphans", 3},        {"stuck_scans", 2},                {"active_sessions_per_location", 1},
        {"server_id_coverage", 96},  {"sales_without_user", 1}};
    for (const auto& [check, expected] : planted) {
        INFO(check);
        // The series exists (at 0) from start-up; wait for a scrape taken after the first run.
        std::optional<nlohmann::json> sample;
        poll_until(
            [&] {
                sample = single_sample(prometheus.query("invariantd_check_value{check=\"" + check + "\"}"));
                return sample && std::stod((*sample)["value"][1].get<std::string>()) == expected;
            },
            std::chrono::seconds(30));
        REQUIRE(sample);
        CHECK(std::stod((*sample)["value"][1].get<std::string>()) == expected);
        CHECK((*sample)["metric"]["job"] == "invariantd");
    }
    const auto failure_rate = single_sample(prometheus.query("invariantd_check_value{check=\"crew_sync_failure_rate\"}"));
    REQUIRE(failure_rate);
    CHECK(std::stod((*failure_rate)["value"][1].get<std::string>()) == Approx(1.0 / 14));
    const auto shifts = single_sample(prometheus.query("invariantd_check_value{check=\"shift_coverage\"}"));
    CHECK((*shifts)["metric"]["module"] == "shift_coverage");
    CHECK((*shifts)["metric"]["database"] == "staffing");

    // Prometheus parsed every scrape without complaint.
    const auto targets = prometheus.api("/api/v1/targets?state=active");
    bool seen = false;
    for (const auto& target : targets["data"]["activeTargets"]) {
        if (target["labels"]["job"] != "invariantd") continue;
        seen = true;
        CHECK(target["health"] == "up");
        CHECK(target["lastError"] == "");
    }
    CHECK(seen);
    CHECK(prometheus.query("up{job=\"invariantd\"}")["data"]["result"][0]["value"][1] == "1");

    // Prometheus's own Accept and Accept-Encoding, replayed to the daemon: the answer is
    // text format 0.0.4 (the only one it offers), gzip-compressed, and complete.
    REQUIRE(accept_probe.wait_for(1));
    const auto scrape = accept_probe.requests().front();
    const auto accept = scrape.header("accept");
    const auto accept_encoding = scrape.header("accept-encoding");
    INFO("Prometheus sent Accept: " << accept << ", Accept-Encoding: " << accept_encoding);
    CHECK(accept.find("text/plain;version=0.0.4") != std::string::npos);
    CHECK(accept_encoding.find("gzip") != std::string::npos);
    const auto reply = http_get(daemon.port(), "/metrics", {{"Accept", accept}, {"Accept-Encoding", accept_encoding}});
    CHECK(reply.status == 200);
    CHECK(reply.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(reply.header("content-encoding") == "gzip");
    const auto text = gunzip(reply.body);
    CHECK(metric_value(text, "invariantd_check_value{check=\"shift_coverage\"") == 6.0);
}
