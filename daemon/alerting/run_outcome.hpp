#pragma once
/// How one run counts: the single classification the metrics (runs_total{outcome}), the
/// alert book and `invariantd once` share.
#include "checks/result.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

enum class run_outcome { ok, violation, error, timeout };

const char* to_string(run_outcome outcome);

/// ok or violation for a successful run (violation when `alert.when` holds for the value and
/// the module did not suppress judging it); error or timeout for a run that failed.
run_outcome classify(const config::check_config& check, const checks::check_result& result);

inline bool succeeded(run_outcome outcome) {
    return outcome == run_outcome::ok || outcome == run_outcome::violation;
}

}  // namespace invariantd
