#include "daemon/alerting/run_outcome.hpp"

#include "daemon/alerting/run_history.hpp"

namespace invariantd {

const char* to_string(run_outcome outcome) {
    switch (outcome) {
        case run_outcome::ok:
            return "ok";
        case run_outcome::violation:
            return "violation";
        case run_outcome::error:
            return "error";
        case run_outcome::timeout:
            return "timeout";
    }
    return "error";
}

std::optional<run_outcome> parse_run_outcome(std::string_view text) {
    for (const auto outcome :
         {run_outcome::ok, run_outcome::violation, run_outcome::error, run_outcome::timeout})
        if (text == to_string(outcome)) return outcome;
    return std::nullopt;
}

run_outcome classify(const config::check_config& check, const checks::check_result& result) {
    if (result.status == checks::run_status::timeout) return run_outcome::timeout;
    if (result.status != checks::run_status::ok) return run_outcome::error;
    const bool holds = check.alert.when.has_value() && !result.output.condition_suppressed &&
                       check.alert.when->holds(result.output.value);
    return holds ? run_outcome::violation : run_outcome::ok;
}

}  // namespace invariantd
