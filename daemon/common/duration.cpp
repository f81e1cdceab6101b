#include "daemon/common/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace invariantd {
namespace {

struct unit {
    std::string_view suffix;
    std::int64_t milliseconds;
};

// Order matters: parsing requires units to appear largest first, and "ms" must be tried
// before "m" so "500ms" is not read as 500 minutes followed by garbage.
constexpr std::array<unit, 7> units{{
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"ms", 1},
    {"m", 60LL * 1000},
    {"s", 1000},
}};

// Rank used to enforce "largest unit first"; ms ranks below s although it is listed before m.
constexpr int rank_of(std::string_view suffix) {
    if (suffix == "y") return 0;
    if (suffix == "w") return 1;
    if (suffix == "d") return 2;
    if (suffix == "h") return 3;
    if (suffix == "m") return 4;
    if (suffix == "s") return 5;
    return 6;  // ms
}

}  // namespace

std::optional<duration> parse_duration(std::string_view text) {
    if (text == "0") return duration{0};
    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    int last_rank = -1;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t digits_end = pos;
        while (digits_end < text.size() && text[digits_end] >= '0' && text[digits_end] <= '9') ++digits_end;
        if (digits_end == pos || digits_end - pos > 12) return std::nullopt;
        std::int64_t number = 0;
        for (std::size_t i = pos; i < digits_end; ++i) number = number * 10 + (text[i] - '0');
        const unit* matched = nullptr;
        for (const auto& candidate : units) {
            if (text.substr(digits_end, candidate.suffix.size()) == candidate.suffix) {
                matched = &candidate;
                break;
            }
        }
        if (matched == nullptr) return std::nullopt;
        const int rank = rank_of(matched->suffix);
        if (rank <= last_rank) return std::nullopt;
        last_rank = rank;
        if (number > std::numeric_limits<std::int64_t>::max() / matched->milliseconds) return std::nullopt;
        total += number * matched->milliseconds;
        pos = digits_end + matched->suffix.size();
    }
    return duration{total};
}

std::string format_age(duration value) {
    std::int64_t ms = value.count();
    if (ms == 0) return "0s";
    std::string out = ms < 0 ? "-" : "";
    ms = ms < 0 ? -ms : ms;
    constexpr std::array<unit, 5> ordered{{
        {"d", 24LL * 3600 * 1000}, {"h", 3600LL * 1000}, {"m", 60LL * 1000}, {"s", 1000}, {"ms", 1}}};
    for (std::size_t i = 0; i < ordered.size(); ++i) {
        if (ms < ordered[i].milliseconds) continue;
        out += std::to_string(ms / ordered[i].milliseconds);
        out += ordered[i].suffix;
        if (i + 1 < ordered.size()) {
            const auto rest = (ms % ordered[i].milliseconds) / ordered[i + 1].milliseconds;
            if (rest > 0) {
                out += std::to_string(rest);
                out += ordered[i + 1].suffix;
            }
        }
        break;
    }
    return out;
}

std::string format_duration(duration value) {
    std::int64_t ms = value.count();
    if (ms == 0) return "0s";
    std::string out;
    if (ms < 0) {
        out += '-';
        ms = -ms;
    }
    constexpr std::array<unit, 7> ordered{{
        {"y", 365LL * 24 * 3600 * 1000},
        {"w", 7LL * 24 * 3600 * 1000},
        {"d", 24LL * 3600 * 1000},
        {"h", 3600LL * 1000},
        {"m", 60LL * 1000},
        {"s", 1000},
        {"ms", 1},
    }};
    for (const auto& u : ordered) {
        if (ms >= u.milliseconds) {
            out += std::to_string(ms / u.milliseconds);
            out += u.suffix;
            ms %= u.milliseconds;
        }
    }
    return out;
}

}  // namespace invariantd
