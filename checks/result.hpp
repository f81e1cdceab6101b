#pragma once
/// What a check run produces. Modules fill `module_output`; the scheduler wraps it in a
/// `check_result` with timing and status. A check that cannot run is a result with
/// status error/timeout, never an exception that escapes the scheduler.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/common/asio.hpp"

namespace invariantd::checks {

/// One group of a breakdown (e.g. role "Bartender" → 2 missing shifts).
struct breakdown_entry {
    std::string group;
    double value = 0;
};

/// The answer of one module run.
struct module_output {
    double value = 0;
    std::vector<std::pair<std::string, double>> details;  ///< in the module's documented order
    std::vector<breakdown_entry> breakdown;                ///< bounded by the scheduler (max_breakdown)
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();      ///< offending rows, worst first, ≤ max_samples
    /// The keys of the rows this run counts (its offenders), worst first with ties in the keys'
    /// byte order, at most max_tracked (README "Offenders"). Each sample carries its `key`.
    std::vector<std::string> offenders;
    bool offenders_truncated = false;  ///< more offenders exist than max_tracked
    /// Module-specific guard: true when the value must not be judged (sync_failure_rate below
    /// min_total). The alert condition then counts as false.
    bool condition_suppressed = false;
};

enum class run_status { ok, error, timeout };

struct check_result {
    run_status status = run_status::ok;
    std::string error;  ///< why the check could not run; secret-free
    bool database_unavailable = false;  ///< the failure was the database itself (down, unreadable)
    module_output output;
    system_clock::time_point started{};
    double duration_seconds = 0;
    std::vector<std::string> statements;  ///< the SQL the module sent, in order (parameters bound apart)
};

inline const char* to_string(run_status status) {
    switch (status) {
        case run_status::ok: return "ok";
        case run_status::error: return "error";
        case run_status::timeout: return "timeout";
    }
    return "error";
}

}  // namespace invariantd::checks
