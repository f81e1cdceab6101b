// Alerts end to end: the real daemon, a real SQLite world, real HTTP receivers on loopback
// (tests/support/test_receiver), restarts with SIGTERM and kill -9 (README.md "Alerts").
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

const std::string routing_key = "R0uting-Key-4f1c9e2b7d";
const std::string hmac_secret = "hmac-S3cret-9a8b7c6d";
const std::string slack_token = "T000/B000/slackToken1234";

// Runbook 000's backfill: creates exactly the six missing shifts.
const std::string backfill_000 =
    "INSERT INTO shifts (id, event_id, event_skill_requirement_id) VALUES "
    "(6001, 221, 1004), (6002, 221, 1004), (6003, 221, 1005), (6004, 221, 1005), (6005, 224, 1008), (6006, "
    "224, 1008);";

/// A temp directory with runbook 000's staffing world and a config written by the test.
struct alert_world {
    temp_dir dir;
    std::string db_path;
    std::string config_path;
    std::unique_ptr<daemon_process> daemon;
    int starts = 0;

    alert_world() {
        db_path = (dir.path() / "staffing.db").string();
        sqlite_exec(db_path, read_file(source_path("config/demo-data/staffing.sql")));
    }

    /// `checks` is the YAML list under checks:, `receivers` the mapping under receivers:.
    void write_config(const std::string& checks, const std::string& receivers) {
        config_path =
            dir.write("invariantd.yaml",
                      "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\nlog: { level: debug }\n"
                      "databases:\n  staffing: { driver: sqlite, path: staffing.db }\n"
                      "checks:\n" +
                          checks + "receivers:\n" + receivers);
    }

    void start() {
        ++starts;
        daemon = std::make_unique<daemon_process>(
            config_path, (dir.path() / ("daemon-" + std::to_string(starts) + ".log")).string(),
            std::map<std::string, std::string>{{"PD_KEY", routing_key}, {"HOOK_SECRET", hmac_secret}});
    }

    /// SIGTERM and wait for exit code 0.
    void stop() {
        daemon->signal(SIGTERM);
        REQUIRE(daemon->wait_exit(20s) == std::optional<int>(0));
    }

    std::uint16_t port() const { return daemon->port(); }
    std::string metrics() const { return http_get(port(), "/metrics").body; }
    double metric(const std::string& series) const { return metric_value(metrics(), series).value_or(-1); }
    nlohmann::json alerts() const { return nlohmann::json::parse(http_get(port(), "/api/v1/alerts").body); }
    std::size_t queued() const {
        std::size_t total = 0;
        for (const auto& alert : alerts()) total += alert["notifications"].size();
        return total;
    }
    void run_check(const std::string& name) const {
        REQUIRE(http_call(port(), "POST", "/api/v1/checks/" + name + "/run?wait=1").status == 200);
    }
    /// Every log the daemon wrote in this world.
    std::string logs() const {
        std::string all;
        for (int i = 1; i <= starts; ++i)
            all += read_file(dir.path() / ("daemon-" + std::to_string(i) + ".log"));
        return all;
    }
};

std::string shift_check(const std::string& receivers, const std::string& extra_alert = "",
                        const std::string& interval = "1h") {
    return "  - name: shift_coverage\n    module: shift_coverage\n    database: staffing\n    interval: " +
           interval + "\n    alert:\n      when: \"> 0\"\n      severity: critical\n      receivers: [" +
           receivers +
           "]\n      summary: \"{{value}} shifts missing across {{details.events_affected}} events\"\n"
           "      runbook_url: https://wiki.example.com/runbooks/shifts\n" +
           extra_alert;
}

const std::string rfc3339_shape = R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$)";

}  // namespace

TEST_CASE("pagerduty: trigger with the evidence, restart without re-paging, backfill resolves",
          "[alerts][pagerduty]") {
    test_receiver pagerduty;
    alert_world w;
    w.write_config(shift_check("oncall"), "  oncall: { type: pagerduty, routing_key: ${PD_KEY}, url: \"" +
                                              pagerduty.url("/v2/enqueue") + "\" }\n");
    w.start();
    REQUIRE(pagerduty.wait_for(1));
    auto first = pagerduty.requests().at(0);
    CHECK(first.method == "POST");
    CHECK(first.target == "/v2/enqueue");
    CHECK(first.header("content-type") == "application/json");
    const auto trigger = first.json();
    CHECK(trigger["routing_key"] == routing_key);
    CHECK(trigger["event_action"] == "trigger");
    CHECK(trigger["dedup_key"] == "invariantd/shift_coverage");
    const auto& payload = trigger["payload"];
    CHECK(payload["summary"] == "6 shifts missing across 2 events");
    CHECK(payload["summary"].get<std::string>().size() <= 1024);
    CHECK(payload["severity"] == "critical");
    CHECK(!payload["source"].get<std::string>().empty());
    CHECK(std::regex_match(payload["timestamp"].get<std::string>(), std::regex(rfc3339_shape)));
    CHECK(payload["component"] == "staffing");
    CHECK(payload["group"] == "shift_coverage");
    CHECK(payload["class"] == "shift_coverage");
    const auto& details = payload["custom_details"];
    CHECK(details["value"] == 6);
    CHECK(details["threshold"] == 0);
    CHECK(details["details"]["events_affected"] == 2);
    CHECK(details["breakdown"]["Bartender"] == 2);
    REQUIRE(details["samples"].size() >= 1);
    CHECK(details["samples"][0]["event_id"] == 221);
    CHECK(details["samples"][0]["missing"] == 2);
    REQUIRE(trigger["links"].size() == 1);
    CHECK(trigger["links"][0]["href"] == "https://wiki.example.com/runbooks/shifts");
    CHECK(first.body.size() < 512 * 1024);
    REQUIRE(poll_until([&] {
        return w.metric("invariantd_notifications_total{outcome=\"sent\",receiver=\"oncall\"}") == 1;
    }));
    CHECK(w.metric("invariantd_alert_state{check=\"shift_coverage\"}") == 2);

    // Restart while firing: the stored state keeps it firing, so no second page.
    w.stop();
    w.start();
    w.run_check("shift_coverage");
    auto alerts = w.alerts();
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]["state"] == "firing");
    CHECK(alerts[0]["notifications"].empty());
    CHECK(pagerduty.count() == 1);

    // The data heals while the daemon is down: the resolve still goes out after the restart.
    w.stop();
    sqlite_exec(w.db_path, backfill_000);
    w.start();
    REQUIRE(pagerduty.wait_for(2));
    const auto resolve = pagerduty.requests().at(1).json();
    CHECK(resolve["event_action"] == "resolve");
    CHECK(resolve["dedup_key"] == "invariantd/shift_coverage");
    CHECK(resolve["routing_key"] == routing_key);
    REQUIRE(poll_until([&] { return w.metric("invariantd_alert_state{check=\"shift_coverage\"}") == 0; }));
    REQUIRE(poll_until([&] { return w.queued() == 0; }));
    CHECK(pagerduty.count() == 2);

    // The routing key never reaches a log line or the API.
    CHECK(w.logs().find(routing_key) == std::string::npos);
    CHECK(http_get(w.port(), "/api/v1/alerts").body.find(routing_key) == std::string::npos);
    CHECK(http_get(w.port(), "/api/v1/checks/shift_coverage").body.find(routing_key) == std::string::npos);
}

TEST_CASE("alertmanager, webhook and slack: payloads, re-posts, HMAC, resolve",
          "[alerts][alertmanager][webhook][slack]") {
    test_receiver am0, am1, hook, slack;
    alert_world w;
    w.write_config(shift_check("am, ops, chat"), "  am: { type: alertmanager, url: [\"" + am0.url() +
                                                     "\", \"" + am1.url() +
                                                     "/\"], resend_interval: 1s, resend_resolved_for: 3s }\n"
                                                     "  ops: { type: webhook, url: \"" +
                                                     hook.url("/hook") +
                                                     "\", hmac_secret: ${HOOK_SECRET} }\n"
                                                     "  chat: { type: slack, url: \"" +
                                                     slack.url("/services/" + slack_token) + "\" }\n");
    w.start();
    // Alertmanager: every instance gets the alert, and gets it again while it fires.
    REQUIRE(am0.wait_for(2));
    REQUIRE(am1.wait_for(2));
    for (const auto* am : {&am0, &am1}) {
        const auto requests = am->requests();
        CHECK(requests[0].target == "/api/v2/alerts");
        const auto alerts = requests[0].json();
        REQUIRE(alerts.is_array());
        REQUIRE(alerts.size() == 1);
        const auto& alert = alerts[0];
        CHECK(alert["labels"]["alertname"] == "shift_coverage");
        CHECK(alert["labels"]["severity"] == "critical");
        CHECK(alert["labels"]["database"] == "staffing");
        CHECK(alert["labels"]["module"] == "shift_coverage");
        CHECK(alert["labels"]["service"] == "invariantd");
        CHECK(alert["annotations"]["summary"] == "6 shifts missing across 2 events");
        CHECK(alert["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/shifts");
        CHECK(std::regex_match(alert["startsAt"].get<std::string>(), std::regex(rfc3339_shape)));
        CHECK(!alert.contains("endsAt"));
        CHECK(requests[1].json()[0]["startsAt"] == alert["startsAt"]);  // the same alert, re-posted
        CHECK(requests[1].at - requests[0].at >= 900ms);
    }

    // Webhook: Alertmanager's webhook format, signed with the shared secret.
    REQUIRE(hook.wait_for(1));
    const auto signed_request = hook.requests().at(0);
    const auto body = signed_request.json();
    CHECK(body["version"] == "4");
    CHECK(body["status"] == "firing");
    CHECK(body["receiver"] == "ops");
    CHECK(body["truncatedAlerts"] == 0);
    CHECK(body["groupLabels"]["alertname"] == "shift_coverage");
    CHECK(body["commonLabels"]["severity"] == "critical");
    REQUIRE(body["alerts"].size() == 1);
    CHECK(body["alerts"][0]["status"] == "firing");
    CHECK(body["alerts"][0]["labels"]["alertname"] == "shift_coverage");
    CHECK(body["alerts"][0]["annotations"]["summary"] == "6 shifts missing across 2 events");
    CHECK(body["alerts"][0]["fingerprint"].get<std::string>().size() == 16);
    CHECK(body["invariantd"]["samples"][0]["event_id"] == 221);
    // Verified with an independent HMAC implementation: openssl's.
    const auto openssl =
        run_command({"openssl", "dgst", "-sha256", "-hmac", hmac_secret}, signed_request.body);
    REQUIRE(openssl.exit_code == 0);
    const auto digest = openssl.out.substr(openssl.out.rfind(' ') + 1, 64);
    CHECK(signed_request.header("x-invariantd-signature") == "sha256=" + digest);

    // Slack: one readable line with the top samples.
    REQUIRE(slack.wait_for(1));
    CHECK(slack.requests().at(0).target == "/services/" + slack_token);
    const auto text = slack.requests().at(0).json()["text"].get<std::string>();
    CHECK(text.find("FIRING") != std::string::npos);
    CHECK(text.find("6 shifts missing across 2 events") != std::string::npos);
    // The evidence as lines a person reads (README "Offenders"), no longer raw JSON.
    CHECK(text.find("Event 221 Downtown Concert After-Party") != std::string::npos);

    // Heal the data: resolve everywhere, Alertmanager with endsAt, re-posted for a while.
    sqlite_exec(w.db_path, backfill_000);
    const auto before_resolve = am0.count();
    w.run_check("shift_coverage");
    REQUIRE(hook.wait_for(2));
    const auto resolved = hook.requests().at(1).json();
    CHECK(resolved["status"] == "resolved");
    CHECK(resolved["alerts"][0]["status"] == "resolved");
    CHECK(resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z");
    CHECK(hook.requests().at(1).header("x-invariantd-signature").rfind("sha256=", 0) == 0);
    REQUIRE(slack.wait_for(2));
    CHECK(slack.requests().at(1).json()["text"].get<std::string>().find("RESOLVED") != std::string::npos);
    REQUIRE(poll_until([&] {
        for (const auto& request : am0.requests())
            if (request.json()[0].contains("endsAt")) return true;
        return false;
    }));
    // Re-posted after resolving, then no more once resend_resolved_for (3 s) has passed.
    REQUIRE(poll_until([&] {
        std::size_t resolved_posts = 0;
        for (const auto& request : am0.requests())
            resolved_posts += request.json()[0].contains("endsAt") ? 1 : 0;
        return resolved_posts >= 2;
    }));
    CHECK(am0.count() > before_resolve);
    CHECK(hook.count() == 2);
    CHECK(slack.count() == 2);

    const auto logs = w.logs();
    CHECK(logs.find(hmac_secret) == std::string::npos);
    CHECK(logs.find(slack_token) == std::string::npos);
    CHECK(http_get(w.port(), "/api/v1/alerts").body.find(slack_token) == std::string::npos);
}

TEST_CASE("for delays the trigger; repeat_interval sends it again", "[alerts][for][repeat]") {
    test_receiver hook;
    alert_world w;
    w.write_config(shift_check("ops", "      for: 3s\n      repeat_interval: 2s\n", "250ms"),
                   "  ops: { type: webhook, url: \"" + hook.url() + "\" }\n");
    const auto started = std::chrono::steady_clock::now();
    w.start();
    REQUIRE(poll_until([&] { return w.metric("invariantd_alert_state{check=\"shift_coverage\"}") == 1; }));
    CHECK(w.alerts().at(0)["state"] == "pending");
    CHECK(hook.count() == 0);
    REQUIRE(hook.wait_for(1));
    CHECK(hook.requests().at(0).at - started >= 3s);
    REQUIRE(hook.wait_for(2));
    const auto requests = hook.requests();
    CHECK(requests[1].json()["status"] == "firing");
    CHECK(requests[1].at - requests[0].at >= 1900ms);
}

TEST_CASE("a receiver that refuses connections gets the notification after SIGTERM and a restart",
          "[alerts][durable]") {
    const auto port = unused_port();
    alert_world w;
    w.write_config(shift_check("ops"),
                   "  ops: { type: webhook, url: \"http://127.0.0.1:" + std::to_string(port) + "/\" }\n");
    w.start();
    REQUIRE(poll_until([&] {
        return w.metric("invariantd_notifications_total{outcome=\"failed\",receiver=\"ops\"}") >= 1;
    }));
    CHECK(w.metric("invariantd_notification_queue_length{receiver=\"ops\"}") == 1);
    const auto alerts = w.alerts();
    REQUIRE(alerts.size() == 1);
    REQUIRE(alerts[0]["notifications"].size() == 1);
    CHECK(alerts[0]["notifications"][0]["durable"] == true);
    CHECK(alerts[0]["notifications"][0]["attempts"].get<int>() >= 1);
    w.stop();

    test_receiver hook(port);
    w.start();
    REQUIRE(hook.wait_for(1));
    CHECK(hook.requests().at(0).json()["status"] == "firing");
    REQUIRE(
        poll_until([&] { return w.metric("invariantd_notification_queue_length{receiver=\"ops\"}") == 0; }));
    w.run_check("shift_coverage");  // still firing: the restored state sends nothing new
    CHECK(w.queued() == 0);
    CHECK(hook.count() == 1);
}

TEST_CASE("kill -9 during delivery: delivered after restart, at most one duplicate", "[alerts][durable]") {
    test_receiver hook;
    // The first request hangs, as if the receiver were slow when the daemon dies.
    hook.respond_with([](const received_request&, std::size_t index) {
        canned_response answer;
        if (index == 0) answer.delay = 60s;
        return answer;
    });
    alert_world w;
    w.write_config(shift_check("ops"),
                   "  ops: { type: webhook, url: \"" + hook.url() + "\", timeout: 90s }\n");
    w.start();
    REQUIRE(hook.wait_for(1));
    w.daemon->signal(SIGKILL);
    REQUIRE(w.daemon->wait_exit(10s).has_value());
    w.start();
    REQUIRE(hook.wait_for(2));
    REQUIRE(poll_until(
        [&] { return w.metric("invariantd_notifications_total{outcome=\"sent\",receiver=\"ops\"}") == 1; }));
    REQUIRE(poll_until([&] { return w.queued() == 0; }));
    w.run_check("shift_coverage");
    CHECK(w.queued() == 0);
    const auto requests = hook.requests();
    CHECK(requests.size() == 2);  // the one cut short and its one re-delivery
    for (const auto& request : requests) CHECK(request.json()["status"] == "firing");
}

TEST_CASE("429 with Retry-After is honoured; 400 is dropped and counted", "[alerts][retry]") {
    test_receiver limited, refusing;
    limited.respond_with([](const received_request&, std::size_t index) {
        canned_response answer;
        if (index == 0) {
            answer.status = 429;
            answer.headers["Retry-After"] = "2";
        }
        return answer;
    });
    refusing.respond_with([](const received_request&, std::size_t) {
        canned_response answer;
        answer.status = 400;
        answer.body = "{\"status\":\"invalid event\"}";
        return answer;
    });
    alert_world w;
    w.write_config(shift_check("limited, refusing"), "  limited: { type: webhook, url: \"" + limited.url() +
                                                         "\" }\n"
                                                         "  refusing: { type: slack, url: \"" +
                                                         refusing.url() + "\" }\n");
    w.start();
    REQUIRE(limited.wait_for(2));
    const auto requests = limited.requests();
    CHECK(requests[1].at - requests[0].at >= 2s);
    CHECK(requests[1].body == requests[0].body);
    REQUIRE(poll_until([&] {
        return w.metric("invariantd_notifications_total{outcome=\"sent\",receiver=\"limited\"}") == 1;
    }));
    CHECK(w.metric("invariantd_notifications_total{outcome=\"failed\",receiver=\"limited\"}") == 1);

    REQUIRE(poll_until([&] {
        return w.metric("invariantd_notifications_total{outcome=\"dropped\",receiver=\"refusing\"}") == 1;
    }));
    CHECK(w.metric("invariantd_notification_queue_length{receiver=\"refusing\"}") == 0);
    CHECK(w.metric("invariantd_notifications_total{outcome=\"failed\",receiver=\"refusing\"}") == 0);
    CHECK(refusing.count() == 1);
    CHECK(w.logs().find("dropped: receiver 'refusing' refused it with HTTP 400") != std::string::npos);
}

TEST_CASE("a check that keeps failing raises <check>:error; the next success resolves it",
          "[alerts][error_after]") {
    test_receiver hook;
    alert_world w;
    w.write_config(
        "  - name: audit_backlog\n    module: sql\n    database: staffing\n    interval: 200ms\n"
        "    params: { query: \"SELECT id FROM audit_queue\" }\n"
        "    alert: { when: \"> 0\", error_after: 3, receivers: [ops] }\n",
        "  ops: { type: webhook, url: \"" + hook.url() + "\" }\n");
    w.start();
    REQUIRE(hook.wait_for(1));
    const auto trigger = hook.requests().at(0).json();
    CHECK(trigger["status"] == "firing");
    CHECK(trigger["alerts"][0]["labels"]["alertname"] == "audit_backlog:error");
    const auto summary = trigger["alerts"][0]["annotations"]["summary"].get<std::string>();
    CHECK(summary.find("audit_backlog cannot run on staffing (3 failures in a row)") == 0);
    CHECK(summary.find("no such table: audit_queue") != std::string::npos);
    auto alerts = w.alerts();
    REQUIRE(!alerts.empty());
    CHECK(alerts[0]["check"] == "audit_backlog:error");
    CHECK(alerts[0]["dedup_key"] == "invariantd/audit_backlog:error");

    sqlite_exec(w.db_path, "CREATE TABLE audit_queue (id INTEGER PRIMARY KEY);");
    REQUIRE(hook.wait_for(2));
    const auto resolve = hook.requests().at(1).json();
    CHECK(resolve["status"] == "resolved");
    CHECK(resolve["alerts"][0]["labels"]["alertname"] == "audit_backlog:error");
}

TEST_CASE("a check removed by reload resolves its firing alert", "[alerts][reload]") {
    test_receiver hook;
    alert_world w;
    const std::string receivers = "  ops: { type: webhook, url: \"" + hook.url() + "\" }\n";
    w.write_config(shift_check("ops"), receivers);
    w.start();
    REQUIRE(hook.wait_for(1));
    w.write_config(
        "  - { name: other, module: sql, database: staffing, params: { query: \"SELECT 1 WHERE 0\" } }\n",
        receivers);
    REQUIRE(http_call(w.port(), "POST", "/-/reload").status == 200);
    REQUIRE(hook.wait_for(2));
    const auto resolve = hook.requests().at(1).json();
    CHECK(resolve["status"] == "resolved");
    CHECK(resolve["alerts"][0]["labels"]["alertname"] == "shift_coverage");
}

TEST_CASE("HTTPS receivers: a certificate from a trusted CA for the host name is accepted, any other is not",
          "[alerts][tls]") {
    // One certificate for localhost, one for a name the daemon never dials.
    const test_pki pki({"localhost", "elsewhere.example"});
    const auto at = [&](const std::string& name) { return pki.at(name); };
    test_receiver good(at("localhost.pem"), at("localhost.key"));
    test_receiver wrong_name(at("elsewhere.example.pem"), at("elsewhere.example.key"));

    alert_world w;
    w.write_config(shift_check("good, wrong_name"), "  good: { type: webhook, url: \"" +
                                                        good.url("/hook", "localhost") +
                                                        "\" }\n"
                                                        "  wrong_name: { type: webhook, url: \"" +
                                                        wrong_name.url("/hook", "localhost") + "\" }\n");
    // OpenSSL's default trust store honours SSL_CERT_FILE: the test CA is the only one trusted.
    w.starts++;
    w.daemon =
        std::make_unique<daemon_process>(w.config_path, (w.dir.path() / "daemon-1.log").string(),
                                         std::map<std::string, std::string>{{"SSL_CERT_FILE", at("ca.pem")}});
    REQUIRE(good.wait_for(1));
    CHECK(good.requests().at(0).json()["status"] == "firing");
    REQUIRE(poll_until([&] {
        return w.metric("invariantd_notifications_total{outcome=\"failed\",receiver=\"wrong_name\"}") >= 1;
    }));
    CHECK(wrong_name.count() == 0);  // the handshake failed before any request
    CHECK(w.metric("invariantd_notifications_total{outcome=\"sent\",receiver=\"good\"}") == 1);
    CHECK(w.logs().find("certificate verify failed") != std::string::npos);
}

TEST_CASE("a state_dir written by release 0.1.0 is migrated, not discarded", "[alerts][state]") {
    // tests/fixtures/state-0.1.0/outbox.db was written by the 0.1.0 binary (commit 0a6f815)
    // running made-with.yaml beside it: shift_coverage firing since 2026-11-30T17:10:20.983Z,
    // its trigger still queued for the unreachable receiver 'hook'.
    test_receiver hook;
    alert_world w;
    std::filesystem::create_directories(w.dir.path() / "state");
    std::filesystem::copy_file(source_path("tests/fixtures/state-0.1.0/outbox.db"),
                               w.dir.path() / "state" / "outbox.db");
    // A long repeat_interval: the fixture's trigger is days old when this runs.
    w.write_config(shift_check("hook", "      repeat_interval: 100000h\n"),
                   "  hook: { type: webhook, url: \"" + hook.url("/hook") + "\" }\n");
    w.start();
    REQUIRE(hook.wait_for(1));
    const auto delivered = hook.requests().at(0).json();
    CHECK(delivered["status"] == "firing");
    CHECK(delivered["alerts"][0]["startsAt"] == "2026-11-30T17:10:20.983Z");
    REQUIRE(
        poll_until([&] { return w.metric("invariantd_notification_queue_length{receiver=\"hook\"}") == 0; }));
    w.run_check("shift_coverage");  // the migrated state is firing: nothing new is sent
    const auto alerts = w.alerts();
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]["state"] == "firing");
    CHECK(alerts[0]["active_since"] == "2026-11-30T17:10:20.983Z");
    CHECK(hook.count() == 1);
    CHECK(w.logs().find("schema migrated from version 0 to 3") != std::string::npos);
    w.stop();
    const auto version =
        run_command({"sqlite3", (w.dir.path() / "state" / "outbox.db").string(), "PRAGMA user_version"});
    CHECK(version.out == "3\n");
}

TEST_CASE("a damaged outbox is set aside and monitoring starts with an empty one", "[alerts][state]") {
    test_receiver hook;
    alert_world w;
    const auto state = w.dir.path() / "state";
    std::filesystem::create_directories(state);
    {
        // 4 KB of random bytes where the outbox should be, and a stale WAL beside it.
        std::ifstream random("/dev/urandom", std::ios::binary);
        std::string bytes(4096, '\0');
        random.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        std::ofstream(state / "outbox.db", std::ios::binary) << bytes;
        std::ofstream(state / "outbox.db-wal", std::ios::binary) << bytes.substr(0, 100);
    }
    w.write_config(shift_check("hook"), "  hook: { type: webhook, url: \"" + hook.url("/hook") + "\" }\n");
    w.start();
    REQUIRE(hook.wait_for(1));  // checks run and page as usual
    CHECK(w.metric("invariantd_state_recovered_total") == 1);
    std::vector<std::string> set_aside;
    for (const auto& entry : std::filesystem::directory_iterator(state)) {
        const auto name = entry.path().filename().string();
        if (name.find(".corrupt-") != std::string::npos) set_aside.push_back(name);
    }
    std::sort(set_aside.begin(), set_aside.end());
    REQUIRE(set_aside.size() == 2);
    CHECK(std::regex_match(set_aside[0], std::regex(R"(outbox\.db\.corrupt-\d{10})")));
    CHECK(set_aside[1] == set_aside[0] + "-wal");
    CHECK(std::filesystem::file_size(state / set_aside[0]) == 4096);
    const auto log = w.logs();
    CHECK(log.find("error state file") != std::string::npos);
    CHECK(log.find("was damaged") != std::string::npos);
    // Stop only once the daemon has the receiver's answer: a page still in flight at the stop
    // is sent again after the restart (at-least-once), which is not what this test is about.
    REQUIRE(poll_until(
        [&] { return w.metric("invariantd_notifications_total{outcome=\"sent\",receiver=\"hook\"}") == 1; }));
    w.stop();
    // The replacement is a sound database that the next start uses as is.
    w.start();
    REQUIRE(poll_until([&] { return w.metric("invariantd_state_recovered_total") == 0; }));
    CHECK(hook.count() == 1);  // the firing state survived in the new file: no second page
}

TEST_CASE("a state_dir that cannot be created is a start-up error naming the path", "[alerts][state]") {
    alert_world w;
    w.dir.write("blocker", "a file where the state directory's parent should be\n");
    const auto config =
        w.dir.write("invariantd.yaml",
                    "server: { listen: \"127.0.0.1:0\" }\nstate_dir: blocker/state\n"
                    "databases:\n  staffing: { driver: sqlite, path: staffing.db }\n"
                    "checks:\n  - { name: shifts, module: shift_coverage, database: staffing }\n");
    const auto result = run_command({daemon_binary(), "run", "-c", config});
    CHECK(result.exit_code == 70);
    CHECK((result.out + result.err).find((w.dir.path() / "blocker" / "state").string()) != std::string::npos);
}

TEST_CASE("notify_on_new: a firing alert pages again when a run finds a new offender, naming it first",
          "[alerts][offenders]") {
    test_receiver hook;
    alert_world w;
    w.write_config(shift_check("hook", "      notify_on_new: true\n"),
                   "  hook: { type: webhook, url: \"" + hook.url("/hook") + "\" }\n");
    w.start();
    REQUIRE(hook.wait_for(1));
    auto first = hook.requests().at(0).json()["invariantd"];
    CHECK(first["offenders"]["new"] == 3);
    CHECK(first["samples"][0].contains("key"));

    w.run_check("shift_coverage");  // the same offenders: nothing new, nothing sent
    CHECK(hook.count() == 1);

    sqlite_exec(w.db_path,
                "INSERT INTO event_skill_requirements (id, event_id, skill_name, needed_workers) "
                "VALUES (1100, 221, 'Barback', 1);");
    w.run_check("shift_coverage");
    REQUIRE(hook.wait_for(2));
    const auto second = hook.requests().at(1).json();
    CHECK(second["status"] == "firing");
    CHECK(second["invariantd"]["offenders"]["new"] == 1);
    CHECK(second["invariantd"]["offenders"]["persisting"] == 3);
    CHECK(second["invariantd"]["offenders"]["new_keys"] == nlohmann::json::array({"1100"}));
    CHECK(second["invariantd"]["samples"][0]["key"] == "1100");
    CHECK(second["invariantd"]["samples"][0]["role"] == "Barback");
}

TEST_CASE("slack: the samples are lines a person reads, with how long each has been wrong",
          "[alerts][slack][offenders]") {
    test_receiver slack;
    alert_world w;
    w.write_config(shift_check("chat"),
                   "  chat: { type: slack, url: \"" + slack.url("/services/x") + "\" }\n");
    w.start();
    REQUIRE(slack.wait_for(1));
    const auto text = slack.requests().at(0).json()["text"].get<std::string>();
    CHECK(text.find("Event 221 Downtown Concert After-Party \u2014 Bartender 1/3 (2 missing), since ") !=
          std::string::npos);
    CHECK(text.find('{') == std::string::npos);
}
