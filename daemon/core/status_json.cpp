#include "daemon/core/status_json.hpp"

#include <algorithm>
#include <cmath>

#include "daemon/common/glob.hpp"
#include "daemon/common/time_format.hpp"

namespace invariantd {
namespace {

nlohmann::ordered_json details_json(const checks::module_output& output) {
    nlohmann::ordered_json details = nlohmann::ordered_json::object();
    for (const auto& [name, value] : output.details) details[name] = json_number(value);
    return details;
}

nlohmann::ordered_json breakdown_json(const checks::module_output& output) {
    nlohmann::ordered_json breakdown = nlohmann::ordered_json::array();
    for (const auto& entry : output.breakdown)
        breakdown.push_back({{"group", entry.group}, {"value", json_number(entry.value)}});
    return breakdown;
}

}  // namespace

nlohmann::ordered_json check_to_json(const check_task& task, const alert_pipeline& alerts, bool full) {
    const auto& book = alerts.book();
    const auto& config = task.config();
    const auto& status = task.status();
    nlohmann::ordered_json out{
        {"name", task.instance().name()},
        {"module", config.module},
        {"database", task.instance().member().empty() ? config.database
                                                       : config.database + "/" + task.instance().member()},
        {"interval", format_duration(config.interval)},
        {"state", task.state_name(book.state(task.instance()))},
        {"value", nullptr},
        {"details", nlohmann::ordered_json::object()},
        {"last_run", nullptr},
        {"last_success", nullptr},
        {"duration_seconds", nullptr},
        {"error", nullptr},
        {"condition", config.alert.when ? nlohmann::ordered_json(config.alert.when->to_string())
                                        : nlohmann::ordered_json(nullptr)},
    };
    const auto* cover = alerts.cover(task.instance().name());
    out["silenced_until"] = cover ? nlohmann::ordered_json(format_rfc3339(cover->until)) : nullptr;
    out["silence_comment"] = cover ? nlohmann::ordered_json(cover->reason) : nullptr;
    // The maintenance window that covers the check now, or the next one to start.
    const auto now = system_clock::now();
    std::optional<std::pair<const config::maintenance_window*, window_span>> window;
    const auto& windows = alerts.mutes().windows();
    const auto& spans = alerts.window_spans();
    for (std::size_t i = 0; i < windows.size() && i < spans.size(); ++i) {
        const auto& candidate = windows[i];
        const auto& span = spans[i];
        if (!std::any_of(candidate.checks.begin(), candidate.checks.end(), [&](const std::string& pattern) {
                return glob_match(pattern, task.instance().check());
            }))
            continue;
        if (span && (!window || span->start < window->second.start)) window.emplace(&candidate, *span);
    }
    out["maintenance"] = nullptr;
    if (window)
        out["maintenance"] = {{"name", window->first->name},
                              {"action", config::to_string(window->first->action)},
                              {"active", window->second.start <= now},
                              {"start", format_rfc3339(window->second.start)},
                              {"end", format_rfc3339(window->second.end)}};
    if (const auto* ledger = book.ledger(task.instance())) {
        const auto oldest = ledger->oldest_first_seen();
        out["offenders"] = {{"tracked", ledger->offenders().size()},
                            {"new", ledger->new_count()},
                            {"truncated", ledger->truncated()},
                            {"oldest_first_seen", oldest ? nlohmann::ordered_json(format_rfc3339(*oldest))
                                                         : nlohmann::ordered_json(nullptr)}};
    }
    if (status.last) {
        out["last_run"] = format_rfc3339(status.last->started);
        out["duration_seconds"] = status.last->duration_seconds;
        if (status.last->status != checks::run_status::ok) out["error"] = status.last->error;
    }
    // Like the metrics, the API keeps showing the last good answer while a check fails.
    if (status.last_good) {
        out["value"] = json_number(status.last_good->output.value);
        out["details"] = details_json(status.last_good->output);
        out["last_success"] = format_rfc3339(status.last_good->started);
    }
    if (full) {
        out["breakdown"] =
            status.last_good ? breakdown_json(status.last_good->output) : nlohmann::ordered_json::array();
        out["samples"] =
            status.last_good ? status.last_good->output.samples : nlohmann::ordered_json::array();
        // Each sample says since when its offender has been wrong and whether it is new.
        if (const auto* ledger = book.ledger(task.instance()))
            for (auto& sample : out["samples"])
                if (auto key = sample.find("key"); key != sample.end() && key->is_string())
                    if (const auto* entry = ledger->find(key->get<std::string>())) {
                        sample["first_seen"] = format_rfc3339(entry->first_seen);
                        sample["new"] = entry->is_new;
                    }
        out["timeout"] = format_duration(config.timeout);
        out["consecutive_failures"] = status.consecutive_failures;
        if (auto since = book.active_since(task.instance())) out["active_since"] = format_rfc3339(*since);
    }
    return out;
}

nlohmann::ordered_json once_result_to_json(const config::check_config& check,
                                           const checks::check_result& result, const std::string& outcome) {
    const bool ok = result.status == checks::run_status::ok;
    return {
        {"name", check.name},
        {"module", check.module},
        {"database", check.database},
        {"outcome", outcome},
        {"condition", check.alert.when ? nlohmann::ordered_json(check.alert.when->to_string())
                                       : nlohmann::ordered_json(nullptr)},
        {"value", ok ? json_number(result.output.value) : nlohmann::ordered_json(nullptr)},
        {"details", details_json(result.output)},
        {"breakdown", breakdown_json(result.output)},
        {"samples", result.output.samples},
        {"offenders", result.output.offenders},
        {"truncated", result.output.offenders_truncated},
        {"error", ok ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(result.error)},
        {"duration_seconds", result.duration_seconds},
    };
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace invariantd
