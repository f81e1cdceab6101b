// Numbers for people: every format and summary filter of README "Summaries and formats",
// at the edges (NaN, infinities, negative, 0, 1e-9, 1e12), and summaries rendered with them.
#include "daemon/common/value_format.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "daemon/alerting/summary_template.hpp"
#include "daemon/config/loader.hpp"

using namespace invariantd;

namespace {
const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double infinite = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("formats: number, percent, percent100, duration, round", "[format]") {
    struct row {
        double value;
        const char* number;
        const char* percent;
        const char* percent100;
        const char* duration;
        const char* round2;
    };
    const std::vector<row> rows{
        {0.0833333333333333, "0.0833333333333333", "8.3 %", "0.1 %", "83ms", "0.08"},
        {0.07, "0.07", "7 %", "0.1 %", "70ms", "0.07"},
        {93.0, "93", "9300 %", "93 %", "1m33s", "93"},
        {168, "168", "16800 %", "168 %", "2m48s", "168"},
        {0, "0", "0 %", "0 %", "0s", "0"},
        {-0.125, "-0.125", "-12.5 %", "-0.1 %", "-125ms", "-0.13"},
        {-3725, "-3725", "-372500 %", "-3725 %", "-1h2m", "-3725"},
        {1e-9, "1e-09", "0 %", "0 %", "0s", "0"},
        {1e12, "1000000000000", "100000000000000 %", "1000000000000 %", "11574074d1h", "1000000000000"},
        {273600, "273600", "27360000 %", "273600 %", "3d4h", "273600"},
        {0.25, "0.25", "25 %", "0.3 %", "250ms", "0.25"},
        {0.005, "0.005", "0.5 %", "0 %", "5ms", "0.01"},
        {not_a_number, "NaN", "NaN", "NaN", "NaN", "NaN"},
        {infinite, "+Inf", "+Inf", "+Inf", "+Inf", "+Inf"},
        {-infinite, "-Inf", "-Inf", "-Inf", "-Inf", "-Inf"},
    };
    for (const auto& r : rows) {
        INFO("value " << r.value);
        CHECK(format_value(r.value, value_format::number) == r.number);
        CHECK(format_value(r.value, value_format::percent) == r.percent);
        CHECK(format_value(r.value, value_format::percent100) == r.percent100);
        CHECK(format_value(r.value, value_format::elapsed) == r.duration);
        CHECK(format_rounded(r.value, 2) == r.round2);
    }
    CHECK(format_rounded(2.5, 0) == "3");  // half away from zero
    CHECK(format_rounded(-2.5, 0) == "-3");
    CHECK(format_rounded(1.23456, 3) == "1.235");
    CHECK(format_seconds(45) == "45s");
    CHECK(format_seconds(312) == "5m12s");
    CHECK(format_seconds(3 * 86400) == "3d");
}

TEST_CASE("summary filters: parsed, applied, and unknown ones refused with their position",
          "[format][config]") {
    CHECK(parse_summary_filter(" percent ")->what == summary_filter::kind::percent);
    CHECK(parse_summary_filter("round 2")->digits == 2);
    CHECK_FALSE(parse_summary_filter("round"));
    CHECK_FALSE(parse_summary_filter("round x"));
    CHECK_FALSE(parse_summary_filter("round2"));
    CHECK_FALSE(parse_summary_filter("percentt"));
    CHECK(summary_filter_error("{{value | percent}} of {{details.x | round 1}}") == std::nullopt);
    CHECK(
        summary_filter_error("rate {{value | percnt}}") ==
        std::optional<std::string>("unknown filter 'percnt' in {{value | percnt}} (filters: number, percent, "
                                   "percent100, round N, duration)"));

    config::check_config check;
    check.name = "crew_sync";
    check.database = "crew";
    check.alert.summary =
        "failure rate {{value | percent}}, {{ details.syncs_total | number }} syncs, slowest "
        "{{details.max_duration_seconds | duration}}, {{value | round 3}}, {{value|percent100}}, "
        "{{check | percent}}, {{nope | percent}}";
    checks::module_output output;
    output.value = 0.0833333;
    output.details = {{"syncs_total", 12}, {"max_duration_seconds", 15.25}};
    CHECK(render_summary(check, output) ==
          "failure rate 8.3 %, 12 syncs, slowest 15s250ms, 0.083, 0.1 %, crew_sync, {{nope | percent}}");

    try {
        config::load_config_text(
            "databases:\n  db: { driver: sqlite, path: x.db }\nchecks:\n  - name: c\n"
            "    module: sql\n    database: db\n    params: { query: \"select 1\" }\n"
            "    format: percentage\n    alert: { when: \"> 0\", summary: \"{{value | pct}}\" }\n",
            "test.yaml", "/tmp");
        FAIL("expected configuration errors");
    } catch (const config::config_exception& e) {
        REQUIRE(e.errors().size() == 2);
        CHECK(e.errors()[0].to_string() ==
              "test.yaml:8:13: 'format' must be one of number|percent|percent100|duration, got 'percentage' "
              "(did you mean 'percent'?)");
        CHECK(e.errors()[1].to_string() ==
              "test.yaml:9:36: 'alert.summary': unknown filter 'pct' in {{value | pct}} (filters: number, "
              "percent, "
              "percent100, round N, duration)");
    }
}
