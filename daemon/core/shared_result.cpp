#include "daemon/core/shared_result.hpp"

#include <nlohmann/json.hpp>

#include "daemon/common/time_format.hpp"

namespace invariantd {

namespace {

nlohmann::json result_json(const checks::check_result& result) {
    nlohmann::json details = nlohmann::json::array();
    for (const auto& [name, value] : result.output.details) details.push_back({name, value});
    nlohmann::json breakdown = nlohmann::json::array();
    for (const auto& entry : result.output.breakdown) breakdown.push_back({entry.group, entry.value});
    return {{"status", checks::to_string(result.status)},
            {"error", result.error},
            {"database_unavailable", result.database_unavailable},
            {"started", unix_seconds(result.started)},
            {"duration_seconds", result.duration_seconds},
            {"value", result.output.value},
            {"details", std::move(details)},
            {"breakdown", std::move(breakdown)},
            {"samples", result.output.samples},
            {"offenders_truncated", result.output.offenders_truncated},
            {"condition_suppressed", result.output.condition_suppressed}};
}

checks::check_result result_from(const nlohmann::json& json) {
    checks::check_result result;
    const auto status = json.at("status").get<std::string>();
    result.status = status == "ok"        ? checks::run_status::ok
                    : status == "timeout" ? checks::run_status::timeout
                                          : checks::run_status::error;
    result.error = json.value("error", "");
    result.database_unavailable = json.value("database_unavailable", false);
    result.started = system_clock::time_point(std::chrono::duration_cast<system_clock::duration>(
        std::chrono::duration<double>(json.at("started").get<double>())));
    result.duration_seconds = json.value("duration_seconds", 0.0);
    result.output.value = json.value("value", 0.0);
    for (const auto& entry : json.value("details", nlohmann::json::array()))
        result.output.details.emplace_back(entry.at(0).get<std::string>(), entry.at(1).get<double>());
    for (const auto& entry : json.value("breakdown", nlohmann::json::array()))
        result.output.breakdown.push_back({entry.at(0).get<std::string>(), entry.at(1).get<double>()});
    result.output.samples =
        nlohmann::ordered_json::parse(json.value("samples", nlohmann::json::array()).dump());
    result.output.offenders_truncated = json.value("offenders_truncated", false);
    result.output.condition_suppressed = json.value("condition_suppressed", false);
    return result;
}

}  // namespace

std::string shared_result_document(const check_status& status) {
    nlohmann::json document{{"completed_runs", status.completed_runs},
                            {"consecutive_failures", status.consecutive_failures}};
    if (status.last) document["last"] = result_json(*status.last);
    // The last good run is written only when it is not the last run itself.
    if (status.last_good && (!status.last || status.last->status != checks::run_status::ok))
        document["last_good"] = result_json(*status.last_good);
    return document.dump();
}

std::optional<check_status> shared_result_from(const std::string& document) {
    try {
        const auto json = nlohmann::json::parse(document);
        check_status status;
        status.completed_runs = json.value("completed_runs", std::uint64_t{0});
        status.consecutive_failures = json.value("consecutive_failures", std::size_t{0});
        if (json.contains("last")) status.last = result_from(json.at("last"));
        if (json.contains("last_good"))
            status.last_good = result_from(json.at("last_good"));
        else if (status.last && status.last->status == checks::run_status::ok)
            status.last_good = status.last;
        return status;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

}  // namespace invariantd
