#include "daemon/common/value_format.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

#include "daemon/common/duration.hpp"

namespace invariantd {
namespace {

std::optional<std::string> not_finite(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    return std::nullopt;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

double round_half_away(double value, int digits) {
    const double scale = std::pow(10.0, digits);
    return std::round(value * scale) / scale;  // std::round rounds half away from zero
}

}  // namespace

const char* to_string(value_format format) {
    switch (format) {
        case value_format::number:
            return "number";
        case value_format::percent:
            return "percent";
        case value_format::percent100:
            return "percent100";
        case value_format::elapsed:
            return "duration";
    }
    return "number";
}

std::optional<value_format> parse_value_format(std::string_view name) {
    if (name == "number") return value_format::number;
    if (name == "percent") return value_format::percent;
    if (name == "percent100") return value_format::percent100;
    if (name == "duration") return value_format::elapsed;
    return std::nullopt;
}

std::string format_plain_number(double value) {
    if (auto special = not_finite(value)) return *special;
    if (value == std::trunc(value) && std::fabs(value) < 1e15)
        return fmt::format("{}", static_cast<std::int64_t>(value));
    return fmt::format("{}", value);
}

std::string format_percent(double value, bool ratio) {
    if (auto special = not_finite(value)) return *special;
    const double scaled = round_half_away(ratio ? value * 100.0 : value, 1);
    if (auto special = not_finite(scaled)) return *special;
    std::string text = fmt::format("{:.1f}", scaled);
    if (text.ends_with(".0")) text.resize(text.size() - 2);
    if (text == "-0") text = "0";
    return text + " %";
}

std::string format_seconds(double seconds) {
    if (auto special = not_finite(seconds)) return *special;
    const double milliseconds = std::round(std::fabs(seconds) * 1000.0);
    std::string text;
    if (milliseconds >= 9.0e18) {
        text = fmt::format("{:.0f}d", std::fabs(seconds) / 86400.0);  // beyond int64 milliseconds
    } else {
        text = format_age(duration(static_cast<std::int64_t>(milliseconds)));
    }
    return seconds < 0 && text != "0s" ? "-" + text : text;
}

std::string format_rounded(double value, int digits) {
    if (auto special = not_finite(value)) return *special;
    const double rounded = round_half_away(value, digits);
    return format_plain_number(rounded == 0 ? 0.0 : rounded);
}

std::string format_value(double value, value_format format) {
    switch (format) {
        case value_format::number:
            return format_plain_number(value);
        case value_format::percent:
            return format_percent(value, true);
        case value_format::percent100:
            return format_percent(value, false);
        case value_format::elapsed:
            return format_seconds(value);
    }
    return format_plain_number(value);
}

std::optional<summary_filter> parse_summary_filter(std::string_view text) {
    text = trim(text);
    if (text == "number") return summary_filter{summary_filter::kind::number, 0};
    if (text == "percent") return summary_filter{summary_filter::kind::percent, 0};
    if (text == "percent100") return summary_filter{summary_filter::kind::percent100, 0};
    if (text == "duration") return summary_filter{summary_filter::kind::elapsed, 0};
    if (text.starts_with("round")) {
        const auto digits = trim(text.substr(5));
        if (digits.empty() || digits.size() > 2 || text.size() == 5 || (text[5] != ' ' && text[5] != '\t'))
            return std::nullopt;
        int parsed = 0;
        for (const char c : digits) {
            if (c < '0' || c > '9') return std::nullopt;
            parsed = parsed * 10 + (c - '0');
        }
        if (parsed > 12) return std::nullopt;
        return summary_filter{summary_filter::kind::round, parsed};
    }
    return std::nullopt;
}

std::string apply_filter(double value, const summary_filter& filter) {
    switch (filter.what) {
        case summary_filter::kind::number:
            return format_plain_number(value);
        case summary_filter::kind::percent:
            return format_percent(value, true);
        case summary_filter::kind::percent100:
            return format_percent(value, false);
        case summary_filter::kind::elapsed:
            return format_seconds(value);
        case summary_filter::kind::round:
            return format_rounded(value, filter.digits);
    }
    return format_plain_number(value);
}

std::optional<std::string> summary_filter_error(std::string_view summary) {
    std::size_t pos = 0;
    while ((pos = summary.find("{{", pos)) != std::string_view::npos) {
        const auto close = summary.find("}}", pos + 2);
        if (close == std::string_view::npos) return std::nullopt;
        const auto inner = summary.substr(pos + 2, close - pos - 2);
        const auto bar = inner.find('|');
        if (bar != std::string_view::npos && !parse_summary_filter(inner.substr(bar + 1)))
            return fmt::format(
                "unknown filter '{}' in {} (filters: number, percent, percent100, round N, duration)",
                trim(inner.substr(bar + 1)), summary.substr(pos, close + 2 - pos));
        pos = close + 2;
    }
    return std::nullopt;
}

}  // namespace invariantd
