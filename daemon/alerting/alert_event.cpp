#include "daemon/alerting/alert_event.hpp"

#include <fmt/format.h>

#include <cmath>

#include "daemon/alerting/summary_template.hpp"
#include "daemon/common/secrets.hpp"

namespace invariantd {

nlohmann::ordered_json json_number(double value) {
    if (!std::isfinite(value)) return nullptr;
    // Counts are the common case; show them as 168, not 168.0.
    if (value == std::floor(value) && std::fabs(value) < 9.0e15) return static_cast<std::int64_t>(value);
    return value;
}

const char* to_string(notify_action action) {
    return action == notify_action::resolve ? "resolve" : "trigger";
}

nlohmann::ordered_json to_json(const alert_event& event) {
    return {{"dedup_key", event.dedup_key},
            {"alert_name", event.alert_name},
            {"check", event.check},
            {"action", to_string(event.action)},
            {"summary", event.summary},
            {"severity", event.severity},
            {"database", event.database},
            {"module", event.module},
            {"runbook_url", event.runbook_url},
            {"condition", event.condition},
            {"value", event.value},
            {"threshold", event.threshold},
            {"details", event.details},
            {"breakdown", event.breakdown},
            {"samples", event.samples},
            {"offenders", event.offenders},
            {"sample_lines", event.sample_lines},
            {"error", event.error},
            {"starts_at", event.starts_at},
            {"ends_at", event.ends_at},
            {"timestamp", event.timestamp}};
}

alert_event event_from_json(const nlohmann::json& json) {
    alert_event event;
    auto text = [&](const char* key, std::string& out) {
        if (auto it = json.find(key); it != json.end() && it->is_string()) out = it->get<std::string>();
    };
    auto any = [&](const char* key, nlohmann::ordered_json& out) {
        if (auto it = json.find(key); it != json.end()) out = nlohmann::ordered_json::parse(it->dump());
    };
    text("dedup_key", event.dedup_key);
    text("alert_name", event.alert_name);
    text("check", event.check);
    std::string action;
    text("action", action);
    event.action = action == "resolve" ? notify_action::resolve : notify_action::trigger;
    text("summary", event.summary);
    text("severity", event.severity);
    text("database", event.database);
    text("module", event.module);
    text("runbook_url", event.runbook_url);
    text("condition", event.condition);
    any("value", event.value);
    any("threshold", event.threshold);
    any("details", event.details);
    any("breakdown", event.breakdown);
    any("samples", event.samples);
    any("offenders", event.offenders);
    any("sample_lines", event.sample_lines);
    if (!event.sample_lines.is_array()) event.sample_lines = nlohmann::ordered_json::array();
    text("error", event.error);
    text("starts_at", event.starts_at);
    text("ends_at", event.ends_at);
    text("timestamp", event.timestamp);
    return event;
}

std::string dedup_key_for(const check_instance& instance, alert_kind kind) {
    return "invariantd/" + instance.name() + (kind == alert_kind::error ? ":error" : "");
}

namespace {

alert_event base_event(const config::check_config& check, const check_instance& instance, alert_kind kind,
                       notify_action action, const std::string& starts_at, const std::string& timestamp) {
    const bool resolve = action == notify_action::resolve;
    alert_event event;
    event.dedup_key = dedup_key_for(instance, kind);
    event.alert_name = kind == alert_kind::error ? instance.name() + ":error" : instance.name();
    event.check = instance.name();
    event.action = action;
    event.severity = check.alert.severity;
    event.database = check.database;
    event.module = check.module;
    event.runbook_url = check.alert.runbook_url;
    event.starts_at = starts_at;
    event.ends_at = resolve ? timestamp : std::string();
    event.timestamp = timestamp;
    return event;
}

}  // namespace

alert_event make_value_event(const config::check_config& check, const check_instance& instance,
                             const checks::module_output& output, notify_action action,
                             const std::string& starts_at, const std::string& timestamp,
                             const offender_summary& offenders) {
    auto event = base_event(check, instance, alert_kind::value, action, starts_at, timestamp);
    event.summary = render_summary(check, output, offenders);
    if (check.alert.when) {
        event.condition = check.alert.when->to_string();
        event.threshold = json_number(check.alert.when->threshold);
    }
    event.value = json_number(output.value);
    for (const auto& [name, number] : output.details) event.details[name] = json_number(number);
    for (const auto& entry : output.breakdown) event.breakdown[entry.group] = json_number(entry.value);
    event.samples = output.samples;
    return event;
}

alert_event make_error_event(const config::check_config& check, const check_instance& instance,
                             const std::string& error, std::size_t failures, notify_action action,
                             const std::string& starts_at, const std::string& timestamp) {
    const bool resolve = action == notify_action::resolve;
    auto event = base_event(check, instance, alert_kind::error, action, starts_at, timestamp);
    // The message comes from a driver: redact again, whatever the caller did.
    event.error = secret_registry::global().redact(error.empty() ? "unknown error" : error);
    event.summary =
        cut_summary(resolve ? fmt::format("{} runs again on {}", instance.name(), check.database)
                            : fmt::format("{} cannot run on {} ({} failures in a row): {}", instance.name(),
                                          check.database, failures, event.error));
    return event;
}

}  // namespace invariantd
