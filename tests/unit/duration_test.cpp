#include <catch2/catch.hpp>

#include "daemon/common/duration.hpp"

using namespace invariantd;
using namespace std::chrono_literals;

TEST_CASE("Prometheus durations parse", "[duration]") {
    CHECK(parse_duration("500ms") == duration(500));
    CHECK(parse_duration("30s") == duration(30s));
    CHECK(parse_duration("5m") == duration(5min));
    CHECK(parse_duration("1h30m") == duration(90min));
    CHECK(parse_duration("1d") == duration(24h));
    CHECK(parse_duration("1w") == duration(7 * 24h));
    CHECK(parse_duration("1y") == duration(365 * 24h));
    CHECK(parse_duration("0s") == duration(0));
    CHECK(parse_duration("0") == duration(0));
    CHECK(parse_duration("1m30s500ms") == duration(90500));
}

TEST_CASE("malformed durations are refused", "[duration]") {
    for (const char* bad : {"", "5", "5 m", "m", "-5s", "1.5s", "30s5m", "5m5m", "5min", "1h 30m", "99999999999999999s"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad).has_value());
    }
}

TEST_CASE("durations format the way Prometheus prints them", "[duration]") {
    CHECK(format_duration(duration(0)) == "0s");
    CHECK(format_duration(duration(500)) == "500ms");
    CHECK(format_duration(duration(90min)) == "1h30m");
    CHECK(format_duration(duration(24h)) == "1d");
    CHECK(format_duration(duration(90500)) == "1m30s500ms");
    for (const char* text : {"5m", "1h30m", "2d3h", "45s", "1w"}) CHECK(format_duration(*parse_duration(text)) == text);
}

TEST_CASE("ages for people: the largest unit and the next smaller one", "[duration]") {
    using namespace std::chrono_literals;
    using invariantd::duration;
    using invariantd::format_age;
    CHECK(format_age(duration(0)) == "0s");
    CHECK(format_age(std::chrono::duration_cast<duration>(76h + 5min)) == "3d4h");
    CHECK(format_age(std::chrono::duration_cast<duration>(72h + 30s)) == "3d");
    CHECK(format_age(std::chrono::duration_cast<duration>(5min + 12s + 300ms)) == "5m12s");
    CHECK(format_age(std::chrono::duration_cast<duration>(45s)) == "45s");
    CHECK(format_age(duration(250)) == "250ms");
    CHECK(format_age(std::chrono::duration_cast<duration>(-90s)) == "-1m30s");
}
