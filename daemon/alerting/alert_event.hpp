#pragma once
/// One notification's content, independent of the receiver it goes to. Stored as JSON in the
/// outbox; each receiver type renders it into its own wire format when it is sent, so a
/// rotated routing key or HMAC secret applies to notifications already queued.
#include <nlohmann/json.hpp>
#include <string>

#include "checks/result.hpp"
#include "daemon/alerting/summary_template.hpp"
#include "daemon/common/check_instance.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

/// A check instance has two alerts: its value alert and `<check>:error` (it cannot run).
enum class alert_kind { value, error };

/// What a notification tells its receivers.
enum class notify_action { trigger, resolve };
const char* to_string(notify_action action);

/// A finite number as JSON, null otherwise (JSON has no NaN or Inf).
nlohmann::ordered_json json_number(double value);

struct alert_event {
    std::string dedup_key;   ///< invariantd/<check> or invariantd/<check>:error
    std::string alert_name;  ///< <check> or <check>:error
    std::string check;
    notify_action action = notify_action::trigger;
    std::string summary;
    std::string severity;
    std::string database;
    std::string module;
    std::string runbook_url;
    std::string condition;                       ///< "> 0"; empty for error alerts
    nlohmann::ordered_json value = nullptr;      ///< number, null for error alerts
    nlohmann::ordered_json threshold = nullptr;  ///< number, null for error alerts
    nlohmann::ordered_json details = nlohmann::ordered_json::object();
    nlohmann::ordered_json breakdown = nlohmann::ordered_json::object();  ///< group → value
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();     ///< new offenders first
    /// {new, persisting, cleared, oldest_first_seen, new_keys}; null for error alerts.
    nlohmann::ordered_json offenders = nullptr;
    /// Each sample as the module renders it for people, with ", since 3d4h" from the ledger.
    nlohmann::ordered_json sample_lines = nlohmann::ordered_json::array();
    std::string error;      ///< error alerts: why the check cannot run (secret-free)
    std::string starts_at;  ///< RFC 3339: when the condition (or the failures) began
    std::string ends_at;    ///< RFC 3339, resolve only
    std::string timestamp;  ///< RFC 3339: when this event was created

    bool resolve() const { return action == notify_action::resolve; }
    bool error_alert() const { return !error.empty() || alert_name.ends_with(":error"); }
};

nlohmann::ordered_json to_json(const alert_event& event);
/// Missing fields keep their defaults, so rows written by an older version still load.
alert_event event_from_json(const nlohmann::json& json);

/// The dedup key of an instance's value alert (`invariantd/<instance>`) or of its error alert
/// (`invariantd/<instance>:error`).
std::string dedup_key_for(const check_instance& instance, alert_kind kind);

/// The trigger or resolve of an instance's value alert, from the output it is about.
alert_event make_value_event(const config::check_config& check, const check_instance& instance,
                             const checks::module_output& output, notify_action action,
                             const std::string& starts_at, const std::string& timestamp,
                             const offender_summary& offenders = {});
/// The trigger or resolve of `<instance>:error`; `error` is the last failure's message.
alert_event make_error_event(const config::check_config& check, const check_instance& instance,
                             const std::string& error, std::size_t failures, notify_action action,
                             const std::string& starts_at, const std::string& timestamp);

}  // namespace invariantd
