#pragma once
/// When a check's notifications are held: silences made through the API and maintenance
/// windows from the configuration (README "Silences and maintenance windows").
///
/// Pure: no I/O, no clock reads. The pipeline owns one, persists silences through the state
/// store, and asks `cover_of(check, now)` before each notification decision; a timer wakes at
/// `next_change(now)` to release the checks whose cover ended.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

struct silence {
    std::string id;
    std::vector<std::string> checks;  ///< names or globs
    system_clock::time_point starts_at;
    system_clock::time_point ends_at;  ///< set to the DELETE time when ended early
    std::string comment;
    std::string created_by;
    bool active(system_clock::time_point now) const { return starts_at <= now && now < ends_at; }
    bool matches(const std::string& check) const;
};

/// The API form: id, checks, starts_at, ends_at, comment, created_by, active.
nlohmann::ordered_json to_json(const silence& entry, system_clock::time_point now);
/// The stored form (the API form without `active`); throws on a malformed document.
silence silence_from_json(const nlohmann::json& json);

/// A POST /api/v1/silences body that cannot be accepted: the field it is about and why.
struct silence_rejection {
    std::string field;
    std::string message;
};
/// Validates a POST body (SPEC §10): checks (non-empty list of names or globs), comment and
/// created_by (required, non-empty), exactly one of duration and ends_at (the end in the
/// future and at most 90 days ahead), no other field. The id is left empty.
std::variant<silence, silence_rejection> parse_silence_request(const std::string& body,
                                                               system_clock::time_point now);
/// A fresh random silence id (a version 4 UUID).
std::string new_silence_id();

/// One occurrence of a window: [start, end).
struct window_span {
    system_clock::time_point start;
    system_clock::time_point end;
};
/// The occurrence of `window` that covers `now` (the one ending last if several do), or else
/// the next one to start; nullopt when there is none (a one-off window in the past).
std::optional<window_span> current_or_next(const config::maintenance_window& window,
                                           system_clock::time_point now);

/// What covers a check now.
struct mute_cover {
    system_clock::time_point until;  ///< the latest end among the silences and windows covering it
    std::string reason;              ///< the comment of the silence ending last, or "maintenance window NAME"
    bool pause = false;              ///< a window with action pause covers it: do not run
};

class mute_schedule {
public:
    void set_windows(std::vector<config::maintenance_window> windows) { windows_ = std::move(windows); }
    const std::vector<config::maintenance_window>& windows() const { return windows_; }
    void restore(std::vector<silence> silences) { silences_ = std::move(silences); }
    void add(silence entry) { silences_.push_back(std::move(entry)); }
    /// Ends silence `id` at `now` (nothing changes for one that already ended); nullopt for an
    /// unknown id.
    std::optional<silence> expire(const std::string& id, system_clock::time_point now);
    /// Active silences and those that ended in the last 24 hours, newest first.
    std::vector<silence> listed(system_clock::time_point now) const;
    /// Drops silences that ended more than 24 hours ago; their ids (to delete from the store).
    std::vector<std::string> forget_old(system_clock::time_point now);

    /// Each window's occurrence at `now` (current_or_next), in windows() order; stays right
    /// until next_change(now), so a caller evaluating many checks computes it once.
    std::vector<std::optional<window_span>> window_spans(system_clock::time_point now) const;
    std::optional<mute_cover> cover_of(const std::string& check, system_clock::time_point now,
                                       const std::vector<std::optional<window_span>>& spans) const;
    std::optional<mute_cover> cover_of(const std::string& check, system_clock::time_point now) const {
        return cover_of(check, now, window_spans(now));
    }
    /// The earliest instant after `now` at which some cover may begin or end.
    std::optional<system_clock::time_point> next_change(system_clock::time_point now) const;

private:
    std::vector<config::maintenance_window> windows_;
    std::vector<silence> silences_;
};

}  // namespace invariantd
