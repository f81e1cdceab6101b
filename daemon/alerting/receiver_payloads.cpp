#include "daemon/alerting/receiver_payloads.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <climits>

namespace invariantd {
namespace {

std::string dump(const nlohmann::ordered_json& json) {
    return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::ordered_json custom_details(const alert_event& event) {
    nlohmann::ordered_json out{{"check", event.check},         {"value", event.value},
                               {"threshold", event.threshold}, {"condition", event.condition},
                               {"details", event.details},     {"breakdown", event.breakdown},
                               {"samples", event.samples}};
    if (!event.offenders.is_null()) out["offenders"] = event.offenders;
    if (!event.sample_lines.empty()) out["sample_lines"] = event.sample_lines;
    if (!event.error.empty()) out["error"] = event.error;
    return out;
}

nlohmann::ordered_json alert_labels(const alert_event& event) {
    return {{"alertname", event.alert_name}, {"severity", event.severity}, {"database", event.database},
            {"module", event.module},        {"check", event.check},       {"service", "invariantd"}};
}

nlohmann::ordered_json alert_annotations(const alert_event& event) {
    nlohmann::ordered_json out{{"summary", event.summary}};
    if (!event.runbook_url.empty()) out["runbook_url"] = event.runbook_url;
    if (!event.value.is_null()) out["value"] = dump(event.value);
    if (!event.error.empty()) out["error"] = event.error;
    if (event.offenders.is_object())
        for (const char* state : {"new", "persisting", "cleared"})
            out[std::string("offenders_") + state] =
                dump(event.offenders.value(state, nlohmann::ordered_json(0)));
    return out;
}

// Alertmanager's fingerprint is a 64-bit hash of the label set, printed as 16 hex digits;
// receivers use it as an opaque identity, so a stable FNV-1a of the dedup key serves.
std::string fingerprint(const std::string& dedup_key) {
    std::uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char c : dedup_key) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    return fmt::format("{:016x}", hash);
}

}  // namespace

std::string pagerduty_body(const alert_event& event, const std::string& routing_key,
                           const std::string& source) {
    nlohmann::ordered_json body{{"routing_key", routing_key},
                                {"event_action", event.resolve() ? "resolve" : "trigger"},
                                {"dedup_key", event.dedup_key}};
    if (event.resolve()) return dump(body);  // PagerDuty ignores a payload on resolve
    nlohmann::ordered_json payload{{"summary", event.summary},    {"source", source},
                                   {"severity", event.severity},  {"timestamp", event.timestamp},
                                   {"component", event.database}, {"group", event.module},
                                   {"class", event.check},        {"custom_details", custom_details(event)}};
    body["payload"] = std::move(payload);
    if (!event.runbook_url.empty())
        body["links"] = nlohmann::ordered_json::array({{{"href", event.runbook_url}, {"text", "Runbook"}}});
    auto text = dump(body);
    // Over the limit: keep the head of the samples (worst first), halving until it fits, then
    // give up the breakdown too. The count that was there stays visible.
    auto& details = body["payload"]["custom_details"];
    const auto total_samples = details["samples"].size();
    while (text.size() >= pagerduty_max_payload && !details["samples"].empty()) {
        auto& samples = details["samples"];
        samples.erase(samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2), samples.end());
        details["samples_truncated_from"] = total_samples;
        text = dump(body);
    }
    if (text.size() >= pagerduty_max_payload) {
        details["breakdown"] = nlohmann::ordered_json::object();
        details["details"] = nlohmann::ordered_json::object();
        details["breakdown_truncated"] = true;
        text = dump(body);
    }
    return text;
}

std::string alertmanager_body(const alert_event& event) {
    nlohmann::ordered_json alert{{"labels", alert_labels(event)},
                                 {"annotations", alert_annotations(event)},
                                 {"startsAt", event.starts_at.empty() ? event.timestamp : event.starts_at}};
    if (event.resolve()) alert["endsAt"] = event.ends_at.empty() ? event.timestamp : event.ends_at;
    return dump(nlohmann::ordered_json::array({alert}));
}

std::string webhook_body(const alert_event& event, const std::string& receiver_name) {
    const auto labels = alert_labels(event);
    const auto annotations = alert_annotations(event);
    const char* status = event.resolve() ? "resolved" : "firing";
    nlohmann::ordered_json alert{{"status", status},
                                 {"labels", labels},
                                 {"annotations", annotations},
                                 {"startsAt", event.starts_at.empty() ? event.timestamp : event.starts_at},
                                 // Alertmanager's zero time marks "not ended" in webhook payloads.
                                 {"endsAt", event.resolve() ? event.ends_at : "0001-01-01T00:00:00Z"},
                                 {"generatorURL", ""},
                                 {"fingerprint", fingerprint(event.dedup_key)}};
    nlohmann::ordered_json body{
        {"version", "4"},
        {"groupKey", fmt::format("{{}}:{{alertname=\"{}\"}}", event.alert_name)},
        {"truncatedAlerts", 0},
        {"status", status},
        {"receiver", receiver_name},
        {"groupLabels", {{"alertname", event.alert_name}}},
        {"commonLabels", labels},
        {"commonAnnotations", annotations},
        {"externalURL", ""},
        {"alerts", nlohmann::ordered_json::array({alert})},
        // Not part of Alertmanager's format (receivers ignore unknown keys): the evidence.
        {"invariantd", custom_details(event)}};
    return dump(body);
}

std::string slack_body(const alert_event& event) {
    std::string text = event.resolve() ? fmt::format(":white_check_mark: *[RESOLVED]* `{}` — {}",
                                                     event.alert_name, event.summary)
                                       : fmt::format(":rotating_light: *[FIRING {}]* `{}` — {}",
                                                     event.severity, event.alert_name, event.summary);
    if (!event.runbook_url.empty()) text += fmt::format("\n<{}|Runbook>", event.runbook_url);
    if (!event.resolve() && !event.sample_lines.empty()) {
        // The top rows as lines a person reads, as each module renders them.
        constexpr std::size_t shown = 5;
        std::size_t count = 0;
        for (const auto& line : event.sample_lines) {
            if (count++ == shown) break;
            text += "\n\u2022 " + line.get<std::string>();
        }
        if (event.sample_lines.size() > shown)
            text += fmt::format("\n…and {} more", event.sample_lines.size() - shown);
    } else if (!event.resolve() && event.samples.is_array() && !event.samples.empty()) {
        // The top rows as evidence; a long list belongs in the API, not in a chat line.
        constexpr std::size_t shown = 5;
        text += "\n```";
        std::size_t count = 0;
        for (const auto& sample : event.samples) {
            if (count++ == shown) break;
            text += "\n" + dump(sample);
        }
        text += "\n```";
        if (event.samples.size() > shown) text += fmt::format("\n…and {} more", event.samples.size() - shown);
    }
    return dump(nlohmann::ordered_json{{"text", text}});
}

std::string hmac_sha256_hex(const std::string& key, const std::string& body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

std::string local_host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "invariantd";
    return name;
}

outgoing_request build_request(const config::receiver_config& receiver, const alert_event& event,
                               const std::string& source) {
    outgoing_request request;
    request.headers.emplace_back("Content-Type", "application/json");
    switch (receiver.type) {
        case config::receiver_type::pagerduty:
            request.body = pagerduty_body(event, receiver.routing_key, source);
            break;
        case config::receiver_type::alertmanager:
            request.path_suffix = "/api/v2/alerts";
            request.body = alertmanager_body(event);
            break;
        case config::receiver_type::webhook:
            request.body = webhook_body(event, receiver.name);
            if (!receiver.hmac_secret.empty())
                request.headers.emplace_back("X-Invariantd-Signature",
                                             "sha256=" + hmac_sha256_hex(receiver.hmac_secret, request.body));
            break;
        case config::receiver_type::slack:
            request.body = slack_body(event);
            break;
    }
    return request;
}

}  // namespace invariantd
