#pragma once
/// Each check instance's last results — `(time, value, outcome)` — for the history API and
/// the status pages' charts (README "Status pages"). Bounded to `kept` per instance; the
/// pipeline persists every added point in `<state_dir>/history.db`, so it survives restarts.
/// Loop thread only.
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "daemon/alerting/run_outcome.hpp"
#include "daemon/common/asio.hpp"

namespace invariantd {

struct history_point {
    system_clock::time_point time;  ///< the run's start
    std::optional<double> value;    ///< none when the run could not produce one
    run_outcome outcome = run_outcome::ok;
};

class run_history {
public:
    static constexpr std::size_t kept = 500;

    void add(const std::string& instance, history_point point) {
        auto& points = points_[instance];
        points.push_back(point);
        while (points.size() > kept) points.pop_front();
    }
    /// The instance's results, oldest first (empty when none).
    const std::deque<history_point>& of(const std::string& instance) const {
        static const std::deque<history_point> none;
        auto it = points_.find(instance);
        return it == points_.end() ? none : it->second;
    }
    void forget(const std::string& instance) { points_.erase(instance); }
    const std::map<std::string, std::deque<history_point>>& all() const { return points_; }

private:
    std::map<std::string, std::deque<history_point>> points_;
};

/// "ok" → run_outcome::ok …; nullopt for anything else.
std::optional<run_outcome> parse_run_outcome(std::string_view text);

}  // namespace invariantd
