#include "daemon/alerting/mute_schedule.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <algorithm>

#include "daemon/common/glob.hpp"
#include "daemon/common/time_format.hpp"
#include "daemon/common/time_zone.hpp"

namespace invariantd {

namespace {

constexpr auto listed_after_end = std::chrono::hours(24);
constexpr auto longest_silence = std::chrono::hours(24 * 90);

/// `name` is a check instance: "<check>", or "<check>/<member>" for a database set's member,
/// which a pattern matches by its full name or by its check's name.
bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
    const auto slash = name.find('/');
    const std::string check = slash == std::string::npos ? std::string() : name.substr(0, slash);
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
        return glob_match(pattern, name) || (!check.empty() && glob_match(pattern, check));
    });
}

/// Every occurrence of a weekly window that may touch [now - 8 days, now + 8 days]: a window
/// lasts at most 7 days, so one covering `now` started within the last 8 local days.
std::vector<window_span> weekly_spans(const config::weekly_schedule& weekly, system_clock::time_point now) {
    std::vector<window_span> out;
    const auto today = local_day_of(weekly.timezone, now);
    for (int offset = -8; offset <= 8; ++offset) {
        const auto day = today + std::chrono::days(offset);
        const auto weekday = std::chrono::weekday(day).c_encoding();
        if (std::find(weekly.days.begin(), weekly.days.end(), weekday) == weekly.days.end()) continue;
        const auto start = local_to_utc(weekly.timezone, day, weekly.start);
        out.push_back({start, start + weekly.length});
    }
    return out;
}

std::vector<window_span> spans_of(const config::maintenance_window& window, system_clock::time_point now) {
    if (window.weekly) return weekly_spans(*window.weekly, now);
    if (window.from && window.until) return {{*window.from, *window.until}};
    return {};
}

}  // namespace

bool silence::matches(const std::string& check) const {
    return matches_any(checks, check);
}

nlohmann::ordered_json to_json(const silence& entry, system_clock::time_point now) {
    return {{"id", entry.id},
            {"checks", entry.checks},
            {"starts_at", format_rfc3339(entry.starts_at)},
            {"ends_at", format_rfc3339(entry.ends_at)},
            {"comment", entry.comment},
            {"created_by", entry.created_by},
            {"active", entry.active(now)}};
}

silence silence_from_json(const nlohmann::json& json) {
    silence out;
    out.id = json.at("id").get<std::string>();
    out.checks = json.at("checks").get<std::vector<std::string>>();
    const auto starts = parse_rfc3339(json.at("starts_at").get<std::string>());
    const auto ends = parse_rfc3339(json.at("ends_at").get<std::string>());
    if (!starts || !ends) throw std::runtime_error("a silence with unreadable times");
    out.starts_at = *starts;
    out.ends_at = *ends;
    out.comment = json.at("comment").get<std::string>();
    out.created_by = json.at("created_by").get<std::string>();
    return out;
}

std::variant<silence, silence_rejection> parse_silence_request(const std::string& body,
                                                               system_clock::time_point now) {
    const auto parsed = nlohmann::json::parse(body, nullptr, false);
    if (parsed.is_discarded()) return silence_rejection{"body", "the body is not JSON"};
    if (!parsed.is_object()) return silence_rejection{"body", "the body must be a JSON object"};
    static const std::vector<std::string> fields{"checks", "duration", "ends_at", "comment", "created_by"};
    for (const auto& [key, value] : parsed.items())
        if (std::find(fields.begin(), fields.end(), key) == fields.end())
            return silence_rejection{
                key, fmt::format("unknown field '{}' (fields: checks, duration, ends_at, comment, "
                                 "created_by)",
                                 key)};
    silence out;
    out.starts_at = now;
    const auto checks = parsed.find("checks");
    if (checks == parsed.end())
        return silence_rejection{"checks", "'checks' is required: a list of check names or globs"};
    if (!checks->is_array() || checks->empty())
        return silence_rejection{"checks", "'checks' must be a non-empty list of check names or globs"};
    for (const auto& pattern : *checks) {
        if (!pattern.is_string() || pattern.get<std::string>().empty())
            return silence_rejection{"checks", "every entry of 'checks' must be a non-empty string"};
        out.checks.push_back(pattern.get<std::string>());
    }
    for (const char* field : {"comment", "created_by"}) {
        const auto it = parsed.find(field);
        if (it == parsed.end()) return silence_rejection{field, fmt::format("'{}' is required", field)};
        if (!it->is_string() || it->get<std::string>().empty())
            return silence_rejection{field, fmt::format("'{}' must be a non-empty string", field)};
        (std::string_view(field) == "comment" ? out.comment : out.created_by) = it->get<std::string>();
    }
    const auto length = parsed.find("duration");
    const auto ends_at = parsed.find("ends_at");
    if (length != parsed.end() && ends_at != parsed.end())
        return silence_rejection{"duration", "give either 'duration' or 'ends_at', not both"};
    if (length != parsed.end()) {
        const auto value = length->is_string() ? parse_duration(length->get<std::string>()) : std::nullopt;
        if (!value)
            return silence_rejection{"duration", "'duration' must be a duration such as 30m, 2h or 1d"};
        if (*value <= duration(0) || *value > longest_silence)
            return silence_rejection{"duration", "'duration' must be greater than 0 and at most 90d"};
        out.ends_at = now + *value;
    } else if (ends_at != parsed.end()) {
        const auto value = ends_at->is_string() ? parse_rfc3339(ends_at->get<std::string>()) : std::nullopt;
        if (!value)
            return silence_rejection{"ends_at",
                                     "'ends_at' must be an RFC 3339 time such as 2026-12-05T22:00:00Z"};
        if (*value <= now) return silence_rejection{"ends_at", "'ends_at' must lie in the future"};
        if (*value > now + longest_silence)
            return silence_rejection{"ends_at", "'ends_at' must be at most 90 days ahead"};
        out.ends_at = *value;
    } else {
        return silence_rejection{"duration", "one of 'duration' and 'ends_at' is required"};
    }
    return out;
}

std::string new_silence_id() {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes for a silence id");
    bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
    bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    std::string hex;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
        hex += fmt::format("{:02x}", bytes[i]);
    }
    return hex;
}

std::optional<window_span> current_or_next(const config::maintenance_window& window,
                                           system_clock::time_point now) {
    std::optional<window_span> current, next;
    for (const auto& span : spans_of(window, now)) {
        if (span.end <= now) continue;
        if (span.start <= now) {
            if (!current || span.end > current->end) current = span;
        } else if (!next || span.start < next->start) {
            next = span;
        }
    }
    return current ? current : next;
}

std::optional<silence> mute_schedule::expire(const std::string& id, system_clock::time_point now) {
    for (auto& entry : silences_) {
        if (entry.id != id) continue;
        if (entry.ends_at > now) entry.ends_at = std::max(now, entry.starts_at);
        return entry;
    }
    return std::nullopt;
}

std::vector<silence> mute_schedule::listed(system_clock::time_point now) const {
    std::vector<silence> out;
    for (const auto& entry : silences_)
        if (entry.ends_at > now - listed_after_end) out.push_back(entry);
    std::sort(out.begin(), out.end(),
              [](const silence& a, const silence& b) { return a.starts_at > b.starts_at; });
    return out;
}

std::vector<std::string> mute_schedule::forget_old(system_clock::time_point now) {
    std::vector<std::string> ids;
    std::erase_if(silences_, [&](const silence& entry) {
        if (entry.ends_at > now - listed_after_end) return false;
        ids.push_back(entry.id);
        return true;
    });
    return ids;
}

std::vector<std::optional<window_span>> mute_schedule::window_spans(system_clock::time_point now) const {
    std::vector<std::optional<window_span>> out;
    out.reserve(windows_.size());
    for (const auto& window : windows_) out.push_back(current_or_next(window, now));
    return out;
}

std::optional<mute_cover> mute_schedule::cover_of(
    const std::string& check, system_clock::time_point now,
    const std::vector<std::optional<window_span>>& spans) const {
    std::optional<mute_cover> cover;
    auto widen = [&](system_clock::time_point until, const std::string& reason, bool pause) {
        if (!cover) cover = mute_cover{until, reason, pause};
        if (until > cover->until) {
            cover->until = until;
            cover->reason = reason;
        }
        cover->pause = cover->pause || pause;
    };
    for (const auto& entry : silences_)
        if (entry.active(now) && entry.matches(check)) widen(entry.ends_at, entry.comment, false);
    for (std::size_t i = 0; i < windows_.size() && i < spans.size(); ++i) {
        const auto& window = windows_[i];
        const auto& span = spans[i];
        if (!matches_any(window.checks, check)) continue;
        if (span && span->start <= now)
            widen(span->end, "maintenance window " + window.name,
                  window.action == config::maintenance_action::pause);
    }
    return cover;
}

std::optional<system_clock::time_point> mute_schedule::next_change(system_clock::time_point now) const {
    std::optional<system_clock::time_point> next;
    auto consider = [&](system_clock::time_point at) {
        if (at > now && (!next || at < *next)) next = at;
    };
    for (const auto& entry : silences_) {
        consider(entry.starts_at);
        consider(entry.ends_at);
    }
    for (const auto& window : windows_) {
        for (const auto& span : spans_of(window, now)) {
            consider(span.start);
            consider(span.end);
        }
    }
    return next;
}

}  // namespace invariantd
