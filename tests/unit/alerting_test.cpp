// Pure alerting logic: the notification rule, retry policy, URL parsing and each receiver's
// wire format, field by field against the PagerDuty Events v2 and Alertmanager formats.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "daemon/alerting/alert_book.hpp"
#include "daemon/alerting/delivery_policy.hpp"
#include "daemon/alerting/http_client.hpp"
#include "daemon/alerting/receiver_payloads.hpp"
#include "daemon/common/secrets.hpp"

using namespace invariantd;
using namespace std::chrono_literals;

namespace {

config::check_config shift_check() {
    config::check_config check;
    check.name = "shift_coverage";
    check.module = "shift_coverage";
    check.database = "staffing";
    check.alert.when = config::parse_condition("> 0");
    check.alert.severity = "critical";
    check.alert.summary = "{{value}} shifts missing across {{details.events_affected}} events";
    check.alert.runbook_url = "https://wiki.example.com/runbooks/shifts";
    return check;
}

checks::module_output shift_output(std::size_t samples = 2, std::size_t sample_bytes = 10) {
    checks::module_output output;
    output.value = 168;
    output.details = {{"missing_shifts", 168}, {"events_affected", 32}};
    output.breakdown = {{"Bartender", 100}, {"Security", 68}};
    for (std::size_t i = 0; i < samples; ++i)
        output.samples.push_back({{"event_id", 221 + i}, {"note", std::string(sample_bytes, 'x')}});
    return output;
}

config::receiver_config receiver(config::receiver_type type) {
    config::receiver_config r;
    r.name = "r";
    r.type = type;
    r.urls = {"http://127.0.0.1:1"};
    r.routing_key = "key-123";
    r.hmac_secret = "secret";
    return r;
}

}  // namespace

TEST_CASE("retry policy: 2xx sent, 408/429/5xx/network retried, other 4xx dropped; backoff 1s doubling to 5m ±20%",
          "[alerting][retry]") {
    CHECK(classify_status(200) == delivery_verdict::sent);
    CHECK(classify_status(202) == delivery_verdict::sent);
    CHECK(classify_status(0) == delivery_verdict::retry);
    CHECK(classify_status(408) == delivery_verdict::retry);
    CHECK(classify_status(429) == delivery_verdict::retry);
    CHECK(classify_status(500) == delivery_verdict::retry);
    CHECK(classify_status(503) == delivery_verdict::retry);
    CHECK(classify_status(301) == delivery_verdict::retry);
    CHECK(classify_status(400) == delivery_verdict::dropped);
    CHECK(classify_status(401) == delivery_verdict::dropped);
    CHECK(classify_status(404) == delivery_verdict::dropped);
    CHECK(classify_status(413) == delivery_verdict::dropped);

    std::mt19937_64 random(42);
    for (int i = 0; i < 200; ++i) {
        const auto first = retry_backoff(1, random);
        CHECK(first >= 800ms);
        CHECK(first <= 1200ms);
        const auto fourth = retry_backoff(4, random);
        CHECK(fourth >= 6400ms);
        CHECK(fourth <= 9600ms);
        const auto late = retry_backoff(40, random);
        CHECK(late >= 240s);
        CHECK(late <= 360s);
    }
    const auto now = system_clock::from_time_t(1'800'000'000);
    CHECK(parse_retry_after("2", now) == 2000ms);
    CHECK(parse_retry_after(" 120 ", now) == 120s);
    CHECK(parse_retry_after("99999999999", now) == 1h);
    CHECK(!parse_retry_after("", now));
    CHECK(!parse_retry_after("soon", now));
    // 1800000000 = Fri, 15 Jan 2027 08:00:00 GMT
    CHECK(parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", now) == 30s);
    CHECK(parse_retry_after("Fri, 15 Jan 2027 07:00:00 GMT", now) == 0ms);
    for (int i = 0; i < 50; ++i) CHECK(retry_delay(1, 2000ms, random) == 2000ms);  // never before Retry-After
    CHECK(retry_delay(9, 2000ms, random) >= 204800ms);                            // nor before the backoff
}

TEST_CASE("receiver URLs parse into origin and target", "[alerting][url]") {
    auto url = parse_url("https://events.pagerduty.com/v2/enqueue");
    REQUIRE(url);
    CHECK(url->tls);
    CHECK(url->host == "events.pagerduty.com");
    CHECK(url->port == "443");
    CHECK(url->target == "/v2/enqueue");
    url = parse_url("http://127.0.0.1:9093");
    REQUIRE(url);
    CHECK(url->port == "9093");
    CHECK(url->target == "/");
    url = parse_url("http://[::1]:8080/hook?x=1");
    REQUIRE(url);
    CHECK(url->host == "::1");
    CHECK(url->target == "/hook?x=1");
    CHECK(!parse_url("ftp://x"));
    CHECK(!parse_url("http://"));
    CHECK(!parse_url("http://host:99x/"));
    CHECK(!parse_url("http://user:pw@host/"));
}

TEST_CASE("pagerduty: Events API v2 trigger and resolve, field by field", "[alerting][pagerduty]") {
    const auto event = make_value_event(shift_check(), check_instance::of("shift_coverage"), shift_output(), notify_action::trigger, "2026-11-22T10:00:00.000Z",
                                        "2026-11-22T10:05:00.000Z");
    const auto request = build_request(receiver(config::receiver_type::pagerduty), event, "db-host-1");
    CHECK(request.path_suffix.empty());
    const auto body = nlohmann::json::parse(request.body);
    CHECK(body["routing_key"] == "key-123");
    CHECK(body["event_action"] == "trigger");
    CHECK(body["dedup_key"] == "invariantd/shift_coverage");
    const auto& payload = body["payload"];
    CHECK(payload["summary"] == "168 shifts missing across 32 events");
    CHECK(payload["source"] == "db-host-1");
    CHECK(payload["severity"] == "critical");
    CHECK(payload["timestamp"] == "2026-11-22T10:05:00.000Z");
    CHECK(payload["component"] == "staffing");
    CHECK(payload["group"] == "shift_coverage");
    CHECK(payload["class"] == "shift_coverage");
    CHECK(payload["custom_details"]["value"] == 168);
    CHECK(payload["custom_details"]["threshold"] == 0);
    CHECK(payload["custom_details"]["details"]["events_affected"] == 32);
    CHECK(payload["custom_details"]["breakdown"]["Bartender"] == 100);
    CHECK(payload["custom_details"]["samples"].size() == 2);
    CHECK(body["links"][0]["href"] == "https://wiki.example.com/runbooks/shifts");

    const auto resolve = make_value_event(shift_check(), check_instance::of("shift_coverage"), shift_output(), notify_action::resolve, "2026-11-22T10:00:00.000Z",
                                          "2026-11-22T11:00:00.000Z");
    const auto resolved = nlohmann::json::parse(pagerduty_body(resolve, "key-123", "db-host-1"));
    CHECK(resolved["event_action"] == "resolve");
    CHECK(resolved["dedup_key"] == "invariantd/shift_coverage");
    CHECK(!resolved.contains("payload"));
}

TEST_CASE("pagerduty: payload kept under 512 KB by trimming samples, summary at most 1024 chars", "[alerting][pagerduty]") {
    auto check = shift_check();
    check.alert.summary = std::string(3000, 's');
    const auto event = make_value_event(check, check_instance::of("shift_coverage"), shift_output(200, 8 * 1024), notify_action::trigger, "", "2026-11-22T10:05:00.000Z");
    const auto text = pagerduty_body(event, "key", "host");
    CHECK(text.size() < pagerduty_max_payload);
    const auto body = nlohmann::json::parse(text);
    CHECK(body["payload"]["summary"].get<std::string>().size() <= 1024);
    const auto& samples = body["payload"]["custom_details"]["samples"];
    CHECK(samples.size() >= 25);  // as many as fit, worst first
    CHECK(samples.size() < 200);
    CHECK(samples[0]["event_id"] == 221);
    CHECK(body["payload"]["custom_details"]["samples_truncated_from"] == 200);
}

TEST_CASE("alertmanager: POST /api/v2/alerts with labels, annotations, startsAt and endsAt on resolve",
          "[alerting][alertmanager]") {
    const auto trigger = make_value_event(shift_check(), check_instance::of("shift_coverage"), shift_output(), notify_action::trigger, "2026-11-22T10:00:00.000Z",
                                          "2026-11-22T10:05:00.000Z");
    const auto request = build_request(receiver(config::receiver_type::alertmanager), trigger, "h");
    CHECK(request.path_suffix == "/api/v2/alerts");
    const auto alerts = nlohmann::json::parse(request.body);
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]["labels"] == nlohmann::json{{"alertname", "shift_coverage"},
                                                {"severity", "critical"},
                                                {"database", "staffing"},
                                                {"module", "shift_coverage"},
                                                {"check", "shift_coverage"},
                                                {"service", "invariantd"}});
    CHECK(alerts[0]["annotations"]["summary"] == "168 shifts missing across 32 events");
    CHECK(alerts[0]["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/shifts");
    CHECK(alerts[0]["startsAt"] == "2026-11-22T10:00:00.000Z");
    CHECK(!alerts[0].contains("endsAt"));
    const auto resolve = make_value_event(shift_check(), check_instance::of("shift_coverage"), shift_output(), notify_action::resolve, "2026-11-22T10:00:00.000Z",
                                          "2026-11-22T11:00:00.000Z");
    CHECK(nlohmann::json::parse(alertmanager_body(resolve))[0]["endsAt"] == "2026-11-22T11:00:00.000Z");
}

TEST_CASE("webhook: Alertmanager webhook v4 with an HMAC-SHA256 signature header", "[alerting][webhook]") {
    const auto trigger = make_value_event(shift_check(), check_instance::of("shift_coverage"), shift_output(), notify_action::trigger, "2026-11-22T10:00:00.000Z",
                                          "2026-11-22T10:05:00.000Z");
    const auto request = build_request(receiver(config::receiver_type::webhook), trigger, "h");
    const auto body = nlohmann::json::parse(request.body);
    CHECK(body["version"] == "4");
    CHECK(body["status"] == "firing");
    CHECK(body["receiver"] == "r");
    CHECK(body["groupKey"] == "{}:{alertname=\"shift_coverage\"}");
    CHECK(body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z");
    CHECK(body["invariantd"]["value"] == 168);
    bool signed_header = false;
    for (const auto& [name, value] : request.headers)
        if (name == "X-Invariantd-Signature") signed_header = value == "sha256=" + hmac_sha256_hex("secret", request.body);
    CHECK(signed_header);
    // RFC 4231 test case 2.
    CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    auto unsigned_receiver = receiver(config::receiver_type::webhook);
    unsigned_receiver.hmac_secret.clear();
    for (const auto& [name, value] : build_request(unsigned_receiver, trigger, "h").headers)
        CHECK(name != "X-Invariantd-Signature");
}

TEST_CASE("slack: one readable line and the top five samples", "[alerting][slack]") {
    const auto trigger = make_value_event(shift_check(), check_instance::of("shift_coverage"), shift_output(8), notify_action::trigger, "", "2026-11-22T10:05:00.000Z");
    const auto text = nlohmann::json::parse(slack_body(trigger))["text"].get<std::string>();
    CHECK(text.find("*[FIRING critical]* `shift_coverage` — 168 shifts missing across 32 events") != std::string::npos);
    CHECK(text.find("<https://wiki.example.com/runbooks/shifts|Runbook>") != std::string::npos);
    CHECK(text.find("\"event_id\":225") != std::string::npos);
    CHECK(text.find("\"event_id\":226") == std::string::npos);
    CHECK(text.find("…and 3 more") != std::string::npos);
}

TEST_CASE("error alerts say why the check cannot run, without secrets", "[alerting]") {
    secret_registry::global().add({"hunter2-password"});
    const auto event = make_error_event(shift_check(), check_instance::of("shift_coverage"), "connection failed: password hunter2-password rejected", 3, notify_action::trigger,
                                        "2026-11-22T10:00:00.000Z", "2026-11-22T10:00:00.000Z");
    CHECK(event.dedup_key == "invariantd/shift_coverage:error");
    CHECK(event.alert_name == "shift_coverage:error");
    CHECK(event.summary.find("shift_coverage cannot run on staffing (3 failures in a row): connection failed") == 0);
    CHECK(event.summary.find("hunter2") == std::string::npos);
    CHECK(event.error.find("hunter2") == std::string::npos);
}
