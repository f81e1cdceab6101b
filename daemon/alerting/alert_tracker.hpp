#pragma once
#include <optional>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd {

enum class alert_state { ok = 0, pending = 1, firing = 2 };

inline const char* to_string(alert_state state) {
    switch (state) {
        case alert_state::ok: return "ok";
        case alert_state::pending: return "pending";
        case alert_state::firing: return "firing";
    }
    return "ok";
}

/// The ok → pending → firing → ok state machine of one check's alert rule (SPEC §7).
/// Fed only with successful runs: a failed run changes nothing, so an outage never
/// resolves an alert. Pure logic, no I/O; loop thread only.
class alert_tracker {
public:
    /// Records one successful run whose condition is `condition_holds`, at `now`.
    void observe(bool condition_holds, system_clock::time_point now, duration for_duration) {
        if (!condition_holds) {
            state_ = alert_state::ok;
            active_since_.reset();
            return;
        }
        if (state_ == alert_state::ok) {
            state_ = alert_state::pending;
            active_since_ = now;
        }
        if (state_ == alert_state::pending && now - *active_since_ >= for_duration) state_ = alert_state::firing;
    }

    /// Continues from a stored state after a restart or a changed check definition, so a
    /// firing alert stays firing (no second page) and `for` keeps counting from `since`.
    void restore(alert_state state, system_clock::time_point since) {
        state_ = state;
        active_since_ = state == alert_state::ok ? std::nullopt : std::optional(since);
    }

    alert_state state() const { return state_; }
    /// When the condition started to hold (pending or firing), if it does.
    std::optional<system_clock::time_point> active_since() const { return active_since_; }

private:
    alert_state state_ = alert_state::ok;
    std::optional<system_clock::time_point> active_since_;
};

}  // namespace invariantd
