#include "daemon/config/condition.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>

#include "daemon/common/value_format.hpp"

namespace invariantd::config {

bool condition::holds(double value) const {
    switch (op) {
        case comparator::greater:
            return value > threshold;
        case comparator::greater_equal:
            return value >= threshold;
        case comparator::less:
            return value < threshold;
        case comparator::less_equal:
            return value <= threshold;
        case comparator::equal:
            return value == threshold;
        case comparator::not_equal:
            return value != threshold;
    }
    return false;
}

const char* to_string(comparator op) {
    switch (op) {
        case comparator::greater:
            return ">";
        case comparator::greater_equal:
            return ">=";
        case comparator::less:
            return "<";
        case comparator::less_equal:
            return "<=";
        case comparator::equal:
            return "==";
        case comparator::not_equal:
            return "!=";
    }
    return ">";
}

std::string condition::to_string() const {
    return fmt::format("{} {}", config::to_string(op), format_number(threshold));
}

std::optional<condition> parse_condition(std::string_view text) {
    auto trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
        return s;
    };
    text = trim(text);
    condition result;
    static constexpr std::pair<std::string_view, comparator> symbols[] = {
        {">=", comparator::greater_equal}, {"<=", comparator::less_equal}, {"==", comparator::equal},
        {"!=", comparator::not_equal},     {">", comparator::greater},     {"<", comparator::less},
    };
    bool matched = false;
    for (const auto& [symbol, op] : symbols) {
        if (text.substr(0, symbol.size()) == symbol) {
            result.op = op;
            text.remove_prefix(symbol.size());
            matched = true;
            break;
        }
    }
    if (!matched) return std::nullopt;
    text = trim(text);
    if (text.empty()) return std::nullopt;
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, result.threshold);
    if (ec != std::errc() || ptr != end || !std::isfinite(result.threshold)) return std::nullopt;
    return result;
}

std::string format_number(double value) {
    return format_plain_number(value);
}

}  // namespace invariantd::config
