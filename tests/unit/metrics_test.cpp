#include <catch2/catch.hpp>

#include "daemon/core/metrics.hpp"

using namespace invariantd;

namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

checks::check_result ok_result(double value) {
    checks::check_result result;
    result.started = system_clock::now();
    result.duration_seconds = 0.01;
    result.output.value = value;
    result.output.details = {{"events_affected", 2}};
    result.output.breakdown = {{"Bartender", 2}, {"Security", 2}};
    return result;
}

}  // namespace

TEST_CASE("a failed run keeps the last good value, detail and breakdown series", "[metrics]") {
    daemon_metrics metrics("1.2.3", "abc");
    metrics.add_check("shift_coverage", "sql", "staffing");
    metrics.record_run("shift_coverage", ok_result(6), run_outcome::violation);
    checks::check_result failed;
    failed.status = checks::run_status::error;
    failed.started = system_clock::now();
    metrics.record_run("shift_coverage", failed, run_outcome::error);
    const auto text = metrics.serialize();
    CHECK(contains(text, "invariantd_check_value{check=\"shift_coverage\",database=\"staffing\",module=\"sql\"} 6"));
    CHECK(contains(text, "invariantd_check_detail{check=\"shift_coverage\",detail=\"events_affected\"} 2"));
    CHECK(contains(text, "invariantd_check_breakdown{check=\"shift_coverage\",group=\"Bartender\"} 2"));
    CHECK(contains(text, "invariantd_check_up{check=\"shift_coverage\"} 0"));
    CHECK(contains(text, "invariantd_check_runs_total{check=\"shift_coverage\",outcome=\"error\"} 1"));
    CHECK(contains(text, "invariantd_check_runs_total{check=\"shift_coverage\",outcome=\"violation\"} 1"));
    CHECK(contains(text, "invariantd_check_runs_total{check=\"shift_coverage\",outcome=\"timeout\"} 0"));
    CHECK(contains(text, "invariantd_build_info{revision=\"abc\",version=\"1.2.3\"} 1"));
    CHECK(contains(text, "process_resident_memory_bytes "));
    CHECK(contains(text, "process_start_time_seconds "));
}

TEST_CASE("groups that recover disappear from the breakdown and removed checks vanish", "[metrics]") {
    daemon_metrics metrics("1", "r");
    metrics.add_check("c", "sql", "d");
    metrics.record_run("c", ok_result(4), run_outcome::violation);
    auto better = ok_result(2);
    better.output.breakdown = {{"Security", 2}};
    metrics.record_run("c", better, run_outcome::violation);
    auto text = metrics.serialize();
    CHECK_FALSE(contains(text, "group=\"Bartender\""));
    CHECK(contains(text, "invariantd_check_breakdown{check=\"c\",group=\"Security\"} 2"));
    metrics.remove_check("c");
    text = metrics.serialize();
    CHECK_FALSE(contains(text, "check=\"c\""));
}

TEST_CASE("a breakdown exports at most 50 groups, the largest", "[metrics]") {
    daemon_metrics metrics("1", "r");
    metrics.add_check("c", "sql", "d");
    auto result = ok_result(1);
    result.output.breakdown.clear();
    for (int i = 0; i < 80; ++i) result.output.breakdown.push_back({"g" + std::to_string(i), static_cast<double>(i)});
    metrics.record_run("c", result, run_outcome::ok);
    const auto text = metrics.serialize();
    std::size_t groups = 0;
    for (std::size_t pos = 0; (pos = text.find("invariantd_check_breakdown{", pos)) != std::string::npos; ++pos) ++groups;
    CHECK(groups == daemon_metrics::max_breakdown);
    CHECK(contains(text, "group=\"g79\""));
    CHECK_FALSE(contains(text, "group=\"g29\""));
}
