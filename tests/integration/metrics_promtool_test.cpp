// The real /metrics output, checked by the real promtool.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.hpp"

using namespace invariantd::test;

TEST_CASE("promtool check metrics reports nothing on a real scrape", "[metrics][promtool]") {
    // A violating check with a breakdown, a healthy one, and one that cannot run: every
    // family of README.md "Metrics" that exists at this stage has series.
    daemon_fixture f(
        std::string(missing_server_check) +
        "  - { name: all_sales, module: sql, database: pos, interval: 1h, params: { mode: scalar, query: "
        "\"SELECT count(*) FROM sales\" } }\n"
        "  - { name: broken, module: sql, database: pos, interval: 1h, params: { query: \"SELECT * FROM "
        "nope\" } }\n");
    REQUIRE(poll_until([&] {
        const auto text = f.metrics();
        return metric_value(text, "invariantd_check_runs_total{check=\"broken\",outcome=\"error\"}") == 1.0 &&
               metric_value(text,
                            "invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}") ==
                   1.0 &&
               metric_value(text, "invariantd_check_runs_total{check=\"all_sales\",outcome=\"ok\"}") == 1.0;
    }));
    const auto text = f.metrics();
    const auto file = f.dir.write("scrape.prom", text);
    const auto promtool = run_command({"promtool", "check", "metrics"}, text);
    INFO(promtool.out << promtool.err);
    CHECK(promtool.exit_code == 0);
    CHECK(promtool.out.empty());
    CHECK(promtool.err.empty());

    for (const char* family : {"invariantd_check_value",
                               "invariantd_check_breakdown",
                               "invariantd_check_up",
                               "invariantd_check_duration_seconds_bucket",
                               "invariantd_check_runs_total",
                               "invariantd_check_last_run_timestamp_seconds",
                               "invariantd_check_last_success_timestamp_seconds",
                               "invariantd_alert_state",
                               "invariantd_check_silenced",
                               "invariantd_database_up",
                               "invariantd_database_connections",
                               "invariantd_config_last_reload_successful",
                               "invariantd_config_last_reload_success_timestamp_seconds",
                               "invariantd_build_info",
                               "process_resident_memory_bytes",
                               "process_cpu_seconds_total",
                               "process_open_fds",
                               "process_max_fds",
                               "process_start_time_seconds",
                               "process_virtual_memory_bytes"}) {
        INFO(family);
        CHECK(text.find(std::string("\n") + family) != std::string::npos);
    }
    CHECK(metric_value(text, "invariantd_check_value{check=\"all_sales\"") == 4.0);
    CHECK(metric_value(text, "invariantd_check_breakdown{check=\"missing_server\",group=\"north\"}") == 1.0);
    CHECK(metric_value(text, "invariantd_check_up{check=\"broken\"}") == 0.0);
    CHECK(metric_value(text, "invariantd_check_up{check=\"all_sales\"}") == 1.0);
    CHECK(metric_value(text, "invariantd_alert_state{check=\"missing_server\"}") == 2.0);
    CHECK(metric_value(text, "invariantd_alert_state{check=\"all_sales\"}") == 0.0);
    CHECK(metric_value(text, "invariantd_database_up{database=\"pos\"}") == 1.0);
    CHECK(metric_value(text, "invariantd_config_last_reload_successful") == 1.0);
    CHECK(metric_value(text, "invariantd_config_last_reload_success_timestamp_seconds").value_or(0) > 1.7e9);
    CHECK(metric_value(text, "process_open_fds").value_or(0) > 3);
}

TEST_CASE("a database that cannot be read makes /health 503 while /livez stays 200", "[metrics][health]") {
    daemon_fixture f(
        "  - { name: c, module: sql, database: pos, interval: 200ms, params: { mode: scalar, query: "
        "\"SELECT count(*) FROM sales\" } }\n");
    REQUIRE(poll_until([&] {
        return http_get(f.port(), "/health").status == 200 &&
               metric_value(f.metrics(), "invariantd_check_up{check=\"c\"}") == 1.0;
    }));
    // Overwrite the file in place (same inode, so open connections see it too): it is no
    // longer a database, like a disk that went bad under the application.
    const std::string original = read_file(f.db_path);
    {
        std::fstream file(f.db_path, std::ios::in | std::ios::out | std::ios::binary);
        const std::string garbage(original.size(), 'x');
        file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    REQUIRE(poll_until([&] { return http_get(f.port(), "/health").status == 503; }));
    const auto health = nlohmann::json::parse(http_get(f.port(), "/health").body);
    CHECK(health["status"] == "degraded");
    CHECK(health["databases"]["pos"]["up"] == false);
    CHECK_FALSE(health["databases"]["pos"]["error"].get<std::string>().empty());
    CHECK(http_get(f.port(), "/livez").status == 200);
    const auto text = f.metrics();
    INFO(text);
    CHECK(metric_value(text, "invariantd_database_up{database=\"pos\"}") == 0.0);
    // Series never vanish while the database is down: the last good value stays exported.
    CHECK(metric_value(text, "invariantd_check_value{check=\"c\"") == 4.0);
    CHECK(metric_value(text, "invariantd_check_up{check=\"c\"}") == 0.0);
    CHECK(metric_value(text, "invariantd_check_runs_total{check=\"c\",outcome=\"error\"}").value_or(0) >= 1);

    // The data comes back: health recovers without restarting the daemon.
    {
        std::fstream file(f.db_path, std::ios::in | std::ios::out | std::ios::binary);
        file.write(original.data(), static_cast<std::streamsize>(original.size()));
    }
    REQUIRE(poll_until([&] { return http_get(f.port(), "/health").status == 200; }));
    CHECK(metric_value(f.metrics(), "invariantd_database_up{database=\"pos\"}") == 1.0);
}
