#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace invariantd::config {

enum class comparator { greater, greater_equal, less, less_equal, equal, not_equal };
/// ">", ">=", "<", "<=", "==", "!=".
const char* to_string(comparator op);

/// An alert condition such as "> 0" or "< 98": a comparator and a threshold applied to a
/// check's value.
struct condition {
    comparator op = comparator::greater;
    double threshold = 0;

    bool holds(double value) const;
    /// "> 0", with the threshold rendered like Prometheus renders numbers.
    std::string to_string() const;
    bool operator==(const condition&) const = default;
};

/// Parses "> 0", ">= 5", "!= 1.5" (spaces optional). nullopt when malformed.
std::optional<condition> parse_condition(std::string_view text);

/// Renders a number the way Prometheus does in templates: integral values without a
/// decimal point ("168"), others in shortest round-trip form ("0.07"), NaN/±Inf spelled out.
std::string format_number(double value);

}  // namespace invariantd::config
