#include "daemon/common/time_format.hpp"

#include <ctime>

#include <fmt/format.h>

namespace invariantd {

std::string format_rfc3339(std::chrono::system_clock::time_point when) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                       utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
    // date-time = YYYY-MM-DD "T" hh:mm:ss [.frac] ("Z" / ("+"|"-") hh:mm)
    std::size_t pos = 0;
    auto digits = [&](std::size_t count) -> std::optional<int> {
        if (pos + count > text.size()) return std::nullopt;
        int value = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const char c = text[pos + i];
            if (c < '0' || c > '9') return std::nullopt;
            value = value * 10 + (c - '0');
        }
        pos += count;
        return value;
    };
    auto literal = [&](std::string_view accepted) {
        if (pos >= text.size() || accepted.find(text[pos]) == std::string_view::npos) return false;
        ++pos;
        return true;
    };
    const auto year = digits(4);
    if (!year || !literal("-")) return std::nullopt;
    const auto month = digits(2);
    if (!month || !literal("-")) return std::nullopt;
    const auto day = digits(2);
    if (!day || !literal("Tt ")) return std::nullopt;
    const auto hour = digits(2);
    if (!hour || !literal(":")) return std::nullopt;
    const auto minute = digits(2);
    if (!minute || !literal(":")) return std::nullopt;
    const auto second = digits(2);
    if (!second) return std::nullopt;
    std::chrono::nanoseconds fraction{0};
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const auto start = pos;
        std::int64_t scale = 100000000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
            scale /= 10;
            ++pos;
        }
        if (pos == start) return std::nullopt;
    }
    std::chrono::minutes offset{0};
    if (literal("Zz")) {
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos++] == '-' ? -1 : 1;
        const auto offset_hours = digits(2);
        if (!offset_hours || !literal(":")) return std::nullopt;
        const auto offset_minutes = digits(2);
        if (!offset_minutes || *offset_hours > 23 || *offset_minutes > 59) return std::nullopt;
        offset = std::chrono::minutes(sign * (*offset_hours * 60 + *offset_minutes));
    } else {
        return std::nullopt;
    }
    if (pos != text.size()) return std::nullopt;
    const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(static_cast<unsigned>(*month)),
                                           std::chrono::day(static_cast<unsigned>(*day))};
    if (!date.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
    const auto local = std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
                       std::chrono::seconds(std::min(*second, 59));
    return std::chrono::time_point_cast<std::chrono::system_clock::duration>(local - offset + fraction);
}

double unix_seconds(std::chrono::system_clock::time_point when) {
    return std::chrono::duration<double>(when.time_since_epoch()).count();
}

}  // namespace invariantd
