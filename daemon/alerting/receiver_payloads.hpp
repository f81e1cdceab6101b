#pragma once
/// The wire formats of the four receiver types (README.md "Alerts"). Pure functions: an alert_event and
/// a receiver's settings in, the HTTP request to send out.
#include <string>
#include <utility>
#include <vector>

#include "daemon/alerting/alert_event.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

/// PagerDuty rejects events larger than 512 KB; samples are trimmed to stay below it.
inline constexpr std::size_t pagerduty_max_payload = 512 * 1024;

struct outgoing_request {
    std::string path_suffix;  ///< appended to the receiver URL ("/api/v2/alerts" for alertmanager)
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// The request for `event` to a receiver of `receiver.type`. `source` is this host's name
/// (PagerDuty's payload.source).
outgoing_request build_request(const config::receiver_config& receiver, const alert_event& event,
                               const std::string& source);

std::string pagerduty_body(const alert_event& event, const std::string& routing_key,
                           const std::string& source);
std::string alertmanager_body(const alert_event& event);
std::string webhook_body(const alert_event& event, const std::string& receiver_name);
std::string slack_body(const alert_event& event);

/// Lower-case hex HMAC-SHA256 of `body` under `key` (the X-Invariantd-Signature value after "sha256=").
std::string hmac_sha256_hex(const std::string& key, const std::string& body);

/// This machine's host name ("invariantd" when it cannot be read).
std::string local_host_name();

}  // namespace invariantd
