#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "daemon/config/condition.hpp"

using namespace invariantd::config;

TEST_CASE("alert conditions parse and evaluate", "[condition]") {
    struct row {
        const char* text;
        double value;
        bool holds;
    };
    for (const row& r : {row{"> 0", 1, true}, row{"> 0", 0, false}, row{">=5", 5, true}, row{"< 98", 97.5, true},
                         row{"< 98", 98, false}, row{"<= 0.05", 0.05, true}, row{"== 1", 1, true},
                         row{"!= 1", 1, false}, row{"  >   -3  ", -2, true}, row{"> 1e3", 1001, true}}) {
        INFO(r.text << " with " << r.value);
        const auto condition = parse_condition(r.text);
        REQUIRE(condition.has_value());
        CHECK(condition->holds(r.value) == r.holds);
    }
}

TEST_CASE("malformed conditions are refused", "[condition]") {
    for (const char* bad : {"", "0", "> ", "=> 1", "> x", "> 1 2", "more than 5", "> nan", "> inf"}) {
        INFO(bad);
        CHECK_FALSE(parse_condition(bad).has_value());
    }
}

TEST_CASE("numbers render like Prometheus renders them", "[condition]") {
    CHECK(format_number(168) == "168");
    CHECK(format_number(0) == "0");
    CHECK(format_number(-3) == "-3");
    CHECK(format_number(0.07) == "0.07");
    CHECK(format_number(0.1 + 0.2) == "0.30000000000000004");
    CHECK(format_number(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(format_number(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(parse_condition(">= 0.05")->to_string() == ">= 0.05");
    CHECK(parse_condition(">0")->to_string() == "> 0");
}
