#pragma once
/// JSON and HTML renderings of check state for the HTTP API, the status page and `once`.
#include <string>

#include <nlohmann/json.hpp>

#include "checks/result.hpp"
#include "daemon/alerting/alert_event.hpp"
#include "daemon/alerting/alert_pipeline.hpp"
#include "daemon/config/config.hpp"
#include "daemon/core/check_task.hpp"

namespace invariantd {


/// The /api/v1/checks entry of a task; `full` adds breakdown and samples (/api/v1/checks/{name}).
/// `alerts` holds the task's alert state, offenders and silences.
nlohmann::ordered_json check_to_json(const check_task& task, const alert_pipeline& alerts, bool full);

/// One `once --json` entry: the result of a single run with its outcome.
nlohmann::ordered_json once_result_to_json(const config::check_config& check, const checks::check_result& result,
                                   const std::string& outcome);

/// Escapes text for HTML element content and attribute values.
std::string html_escape(std::string_view text);

}  // namespace invariantd
