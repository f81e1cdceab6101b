// Silences, maintenance windows and keep_firing_for through the real daemon, real sockets and
// real receivers (README "Silences and maintenance windows"): the API and every validation,
// notifications held while alert_state moves, the three end-of-silence cases, globs, restarts,
// windows (one-off, reload, pause), Alertmanager re-posts, keep_firing_for through a flap,
// and the `invariantd silence` CLI.
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

const std::string token = "silence-test-token";
const std::map<std::string, std::string> auth{{"Authorization", "Bearer " + token}};

/// The POS world with one alerting check on two webhook receivers (or the given receivers
/// block), the API behind a token.
struct silence_world {
    test_receiver pager;
    test_receiver chat;
    std::unique_ptr<daemon_fixture> fixture;

    std::string check_yaml;      ///< the missing_server check
    std::string receivers_yaml;  ///< the receivers block

    explicit silence_world(const std::string& alert_extra = "", const std::string& receivers = "",
                           const std::string& top_level = "", const std::string& interval = "1h",
                           const std::string& setup_sql = "") {
        receivers_yaml = receivers.empty()
                             ? "receivers:\n  pager: { type: webhook, url: \"" + pager.url("/pager") +
                                   "\" }\n  chat: { type: webhook, url: \"" + chat.url("/chat") + "\" }\n"
                             : receivers;
        check_yaml =
            "  - name: missing_server\n    module: sql\n    database: pos\n    interval: " + interval +
            "\n    params: { query: \"SELECT id, bar FROM sales WHERE server_id IS NULL ORDER BY id\" }\n"
            "    alert: { when: \"> 0\", receivers: [" +
            (receivers.empty() ? std::string("pager, chat") : std::string("am")) + "]" + alert_extra + " }\n";
        fixture = std::make_unique<daemon_fixture>(
            check_yaml + receivers_yaml + top_level, "  api_token: ${API_TOKEN}\n",
            std::map<std::string, std::string>{{"API_TOKEN", token}}, setup_sql);
    }
    /// Rewrites the configuration with more checks and top-level blocks, and reloads it.
    void reconfigure(const std::string& extra_checks, const std::string& top_level) const {
        fixture->dir.write("invariantd.yaml",
                           fixture->config_text(check_yaml + extra_checks + receivers_yaml + top_level,
                                                "  api_token: ${API_TOKEN}\n"));
        REQUIRE(http_call(port(), "POST", "/-/reload", auth).status == 200);
    }
    std::uint16_t port() const { return fixture->port(); }
    void run() const {
        REQUIRE(http_call(port(), "POST", "/api/v1/checks/missing_server/run?wait=1", auth).status == 200);
    }
    double metric(const std::string& series) const {
        return metric_value(fixture->metrics(), series).value_or(-1);
    }
    std::string silence(const std::string& checks, const std::string& length = "2h") const {
        const auto reply = http_call(port(), "POST", "/api/v1/silences", auth,
                                     R"({"checks": )" + checks + R"(, "duration": ")" + length +
                                         R"(", "comment": "seed-001 migration", "created_by": "dba"})");
        REQUIRE(reply.status == 201);
        return nlohmann::json::parse(reply.body)["id"];
    }
    void expire(const std::string& id) const {
        REQUIRE(http_call(port(), "DELETE", "/api/v1/silences/" + id, auth).status == 200);
    }
    void fix() const {
        sqlite_exec(fixture->db_path, "UPDATE sales SET server_id = 9 WHERE server_id IS NULL;");
    }
    void breach() const {
        sqlite_exec(fixture->db_path, "INSERT INTO sales (server_id, bar) VALUES (NULL, 'east');");
    }
    nlohmann::json check() const {
        return nlohmann::json::parse(http_get(port(), "/api/v1/checks/missing_server", auth).body);
    }
    bool ran() const { return !check()["last_run"].is_null(); }
    /// Nothing waits in the outbox: a notification not held would be queued or already sent.
    bool nothing_queued() const {
        for (const auto& alert : nlohmann::json::parse(http_get(port(), "/api/v1/alerts", auth).body))
            if (!alert["notifications"].empty()) return false;
        return true;
    }
};

const std::string fixed_world = "UPDATE sales SET server_id = 9 WHERE server_id IS NULL;";

std::vector<std::string> statuses(const test_receiver& receiver) {
    std::vector<std::string> out;
    for (const auto& request : receiver.requests()) out.push_back(request.json()["status"]);
    return out;
}

}  // namespace

TEST_CASE("silences API: token, every validation answered 400 naming the field, list and DELETE",
          "[silences]") {
    silence_world w;
    REQUIRE(poll_until([&] { return w.ran(); }));
    const std::string who = R"("comment": "seed-001 migration", "created_by": "dba")";
    CHECK(http_call(w.port(), "POST", "/api/v1/silences", {},
                    R"({"checks": ["x"], "duration": "1h", )" + who + "}")
              .status == 401);
    CHECK(http_get(w.port(), "/api/v1/silences").status == 401);
    const std::vector<std::pair<std::string, std::string>> bad{
        {"{nope", "body"},
        {R"({"checks": ["x"], "duration": "1h", "sevrity": 1, )" + who + "}", "sevrity"},
        {R"({"checks": [], "duration": "1h", )" + who + "}", "checks"},
        {R"({"checks": ["x"], "duration": "1h", "created_by": "dba"})", "comment"},
        {R"({"checks": ["x"], "duration": "1h", "comment": "c"})", "created_by"},
        {R"({"checks": ["x"], )" + who + "}", "duration"},
        {R"({"checks": ["x"], "duration": "100d", )" + who + "}", "duration"},
        {R"({"checks": ["x"], "duration": "1h", "ends_at": "2030-01-01T00:00:00Z", )" + who + "}",
         "duration"},
        {R"({"checks": ["x"], "ends_at": "2020-01-01T00:00:00Z", )" + who + "}", "ends_at"},
        {R"({"checks": ["x"], "ends_at": "later", )" + who + "}", "ends_at"},
    };
    for (const auto& [body, field] : bad) {
        INFO(body);
        const auto reply = http_call(w.port(), "POST", "/api/v1/silences", auth, body);
        CHECK(reply.status == 400);
        const auto json = nlohmann::json::parse(reply.body);
        CHECK(json["field"] == field);
        CHECK(json["error"].get<std::string>().find(field == "body" ? "JSON" : field) != std::string::npos);
    }
    CHECK(http_call(w.port(), "PUT", "/api/v1/silences", auth).status == 405);
    CHECK(http_call(w.port(), "DELETE", "/api/v1/silences/no-such-id", auth).status == 404);

    // A glob matching no check is accepted (it applies to checks added later).
    const auto later = w.silence(R"(["not_yet_*"])");
    const auto id = w.silence(R"(["missing_*"])");
    auto listed = nlohmann::json::parse(http_get(w.port(), "/api/v1/silences", auth).body);
    REQUIRE(listed.size() == 2);
    for (const auto& entry : listed) {
        CHECK(entry["active"] == true);
        CHECK(entry["comment"] == "seed-001 migration");
        CHECK(entry["created_by"] == "dba");
        CHECK(entry["ends_at"].get<std::string>().ends_with("Z"));
    }
    REQUIRE(poll_until([&] { return w.check()["silenced_until"].is_string(); }));
    CHECK(w.check()["silence_comment"] == "seed-001 migration");
    CHECK(w.metric("invariantd_check_silenced{check=\"missing_server\"}") == 1);
    const auto page = http_get(w.port(), "/").body;
    CHECK(page.find("<li class=\"silence\" data-silence=\"" + id +
                    "\"><b>missing_*</b> &middot; seed-001 migration "
                    "&middot; by dba &middot; 1h59m left") != std::string::npos);
    CHECK(page.find("<div class=\"silenced\">silenced until") != std::string::npos);

    w.expire(id);
    listed = nlohmann::json::parse(http_get(w.port(), "/api/v1/silences", auth).body);
    REQUIRE(listed.size() == 2);
    for (const auto& entry : listed) CHECK(entry["active"] == (entry["id"] == later));
    CHECK(w.check()["silenced_until"].is_null());
    CHECK(w.metric("invariantd_check_silenced{check=\"missing_server\"}") == 0);
}

TEST_CASE(
    "a silence holds trigger, re-send and resolve while alert_state moves; its end brings each receiver up "
    "to date",
    "[silences][alerts]") {
    SECTION("firing during the silence and never sent: a trigger at the end, once per receiver") {
        silence_world w(", repeat_interval: 1s", "", "", "200ms", fixed_world);
        REQUIRE(poll_until([&] { return w.ran(); }));
        const auto id = w.silence(R"(["missing_*"])");
        w.breach();
        REQUIRE(
            poll_until([&] { return w.metric("invariantd_alert_state{check=\"missing_server\"}") == 2; }));
        // Runs go on (and repeat_interval passes) while nothing is sent.
        const double runs =
            w.metric("invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}");
        REQUIRE(poll_until([&] {
            return w.metric("invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}") >=
                   runs + 8;
        }));
        CHECK(w.nothing_queued());
        CHECK(w.pager.count() == 0);
        CHECK(w.chat.count() == 0);
        w.expire(id);
        REQUIRE(w.pager.wait_for(1));
        REQUIRE(w.chat.wait_for(1));
        CHECK(statuses(w.pager).at(0) == "firing");
        CHECK(w.pager.requests().at(0).json()["invariantd"]["value"] == 1);
    }
    SECTION("triggered before, resolved during the silence: a resolve at the end") {
        silence_world w;
        REQUIRE(w.pager.wait_for(1));
        REQUIRE(w.chat.wait_for(1));
        const auto id = w.silence(R"(["missing_server"])");
        w.fix();
        w.run();
        CHECK(w.metric("invariantd_alert_state{check=\"missing_server\"}") == 0);
        w.breach();
        w.run();  // firing again, and ok again: intermediate transitions are not replayed
        w.fix();
        w.run();
        CHECK(w.nothing_queued());
        CHECK(w.pager.count() == 1);
        w.expire(id);
        REQUIRE(w.pager.wait_for(2));
        REQUIRE(w.chat.wait_for(2));
        CHECK(statuses(w.pager) == std::vector<std::string>{"firing", "resolved"});
        CHECK(statuses(w.chat) == std::vector<std::string>{"firing", "resolved"});
    }
    SECTION("triggered before and still firing at the end: nothing, and no re-send during the silence") {
        silence_world w(", repeat_interval: 1s", "", "", "200ms");
        REQUIRE(w.pager.wait_for(1));
        const auto id = w.silence(R"(["*"])");
        const auto sent = w.pager.count();  // a re-send may have been due as the silence began
        const double runs =
            w.metric("invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}");
        REQUIRE(poll_until([&] {
            return w.metric("invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}") >=
                   runs + 10;
        }));
        CHECK(w.nothing_queued());
        CHECK(w.pager.count() == sent);  // two seconds of repeat_interval 1s: nothing re-sent
        w.expire(id);
        CHECK(w.check()["silenced_until"].is_null());
        // Nothing is owed at the end; re-sends resume (a trigger, never a resolve).
        REQUIRE(w.pager.wait_for(sent + 1));
        for (const auto& status : statuses(w.pager)) CHECK(status == "firing");
    }
}

TEST_CASE("silences survive a restart", "[silences][state]") {
    {
        silence_world w;
        REQUIRE(poll_until([&] { return w.ran(); }));
        // The trigger delivered and recorded before the restart: one cut off in flight would
        // be sent again by the next process (at least once), which is not what this tests.
        REQUIRE(w.pager.wait_for(1));
        REQUIRE(poll_until([&] { return w.nothing_queued(); }));
        w.silence(R"(["missing_*"])");
        w.fixture->daemon->signal(SIGTERM);
        REQUIRE(w.fixture->daemon->wait_exit(20s) == std::optional<int>(0));
        // The same state directory and configuration, a new process.
        w.fixture->daemon = std::make_unique<daemon_process>(
            w.fixture->config_path, (w.fixture->dir.path() / "daemon-2.log").string(),
            std::map<std::string, std::string>{{"API_TOKEN", token}});
        REQUIRE(poll_until([&] { return w.ran(); }));
        const auto listed = nlohmann::json::parse(http_get(w.port(), "/api/v1/silences", auth).body);
        REQUIRE(listed.size() == 1);
        CHECK(listed[0]["active"] == true);
        CHECK(w.check()["silence_comment"] == "seed-001 migration");
        CHECK(w.metric("invariantd_check_silenced{check=\"missing_server\"}") == 1);
        // Still holding: the fix resolves the alert, and the resolve waits for the silence's end.
        w.fix();
        w.run();
        CHECK(w.metric("invariantd_alert_state{check=\"missing_server\"}") == 0);
        CHECK(w.nothing_queued());
        CHECK(statuses(w.pager) == std::vector<std::string>{"firing"});
    }
}

TEST_CASE("maintenance windows: now, past, reload at once, and pause", "[silences][maintenance]") {
    const std::string covering =
        "maintenance:\n  - name: migration\n    checks: [\"missing_*\"]\n"
        "    from: 2020-01-01T00:00:00Z\n    until: 2099-01-01T00:00:00Z\n";
    const std::string past =
        "maintenance:\n  - name: old\n    checks: [\"*\"]\n"
        "    from: 2020-01-01T00:00:00Z\n    until: \"2020-01-02T00:00:00Z\"\n";
    silence_world w("", "", covering, "200ms");
    REQUIRE(poll_until([&] { return w.ran(); }));
    CHECK(w.metric("invariantd_alert_state{check=\"missing_server\"}") == 2);
    CHECK(w.metric("invariantd_check_silenced{check=\"missing_server\"}") == 1);
    CHECK(w.check()["silence_comment"] == "maintenance window migration");
    auto windows = nlohmann::json::parse(http_get(w.port(), "/api/v1/maintenance", auth).body);
    REQUIRE(windows.size() == 1);
    CHECK(windows[0]["name"] == "migration");
    CHECK(windows[0]["active"] == true);
    CHECK(windows[0]["action"] == "silence");
    CHECK(windows[0]["next_end"] == "2099-01-01T00:00:00.000Z");
    CHECK(http_get(w.port(), "/").body.find("in maintenance window migration (silence) until") !=
          std::string::npos);
    CHECK(w.nothing_queued());
    CHECK(w.pager.count() == 0);

    // A reload that replaces it with a window in the past ends the silence at once: the
    // firing alert goes out.
    w.reconfigure("", past);
    REQUIRE(w.pager.wait_for(1));
    CHECK(w.metric("invariantd_check_silenced{check=\"missing_server\"}") == 0);
    windows = nlohmann::json::parse(http_get(w.port(), "/api/v1/maintenance", auth).body);
    CHECK(windows[0]["active"] == false);
    CHECK(windows[0]["next_start"].is_null());

    // action: pause — no runs at all (last_run stays), series keep their values.
    w.reconfigure(
        "  - { name: ticker, module: sql, database: pos, interval: 200ms, params: { mode: scalar, query: "
        "\"SELECT 1\" } }\n",
        covering + "    action: pause\n");
    REQUIRE(poll_until([&] { return w.metric("invariantd_check_silenced{check=\"missing_server\"}") == 1; }));
    const auto paused_run = w.check()["last_run"];
    // The other check runs five more times meanwhile; the paused one not once.
    const double ticks = w.metric("invariantd_check_runs_total{check=\"ticker\",outcome=\"ok\"}");
    REQUIRE(poll_until([&] {
        return w.metric("invariantd_check_runs_total{check=\"ticker\",outcome=\"ok\"}") >= ticks + 5;
    }));
    CHECK(w.check()["last_run"] == paused_run);
    CHECK(w.metric("invariantd_check_value{check=\"missing_server\"") == 2);
    CHECK(w.metric("invariantd_check_up{check=\"missing_server\"}") == 1);
    const auto refused = http_call(w.port(), "POST", "/api/v1/checks/missing_server/run?wait=1", auth);
    CHECK(refused.status == 409);
    CHECK(refused.body.find("paused by a maintenance window") != std::string::npos);
}

TEST_CASE("Alertmanager: re-posts stop during a silence, and its end posts the current state again",
          "[silences][alertmanager]") {
    test_receiver am;
    silence_world w(
        "", "receivers:\n  am: { type: alertmanager, url: \"" + am.url() + "\", resend_interval: 1s }\n", "",
        "200ms");
    REQUIRE(am.wait_for(2));  // the trigger and a re-post
    const auto id = w.silence(R"(["missing_server"])");
    const auto posted = am.count();
    // Several re-post intervals pass (the check runs fifteen more times at 200 ms).
    const double runs =
        w.metric("invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}");
    REQUIRE(poll_until([&] {
        return w.metric("invariantd_check_runs_total{check=\"missing_server\",outcome=\"violation\"}") >=
               runs + 15;
    }));
    CHECK(am.count() <= posted + 1);  // at most one already due when the silence began
    const auto during = am.count();
    w.expire(id);
    REQUIRE(am.wait_for(during + 1));
    const auto last = am.requests().back().json();
    CHECK(last[0]["labels"]["check"] == "missing_server");
    CHECK(last[0]["annotations"]["value"] == "2");
}

TEST_CASE(
    "keep_firing_for: a value flapping around the threshold pages once, then resolves after the quiet period",
    "[alerts][keep_firing_for]") {
    silence_world w(", keep_firing_for: 2s");
    REQUIRE(w.pager.wait_for(1));
    for (int flap = 0; flap < 3; ++flap) {
        w.fix();
        w.run();
        CHECK(w.metric("invariantd_alert_state{check=\"missing_server\"}") == 2);
        w.breach();
        w.run();
    }
    CHECK(w.pager.count() == 1);
    w.fix();
    w.run();
    CHECK(w.metric("invariantd_alert_state{check=\"missing_server\"}") == 2);
    // Runs keep finding it false; once 2 s have passed since the first of them, it resolves.
    REQUIRE(poll_until([&] {
        w.run();
        return w.metric("invariantd_alert_state{check=\"missing_server\"}") == 0;
    }));
    REQUIRE(w.pager.wait_for(2));
    CHECK(statuses(w.pager) == std::vector<std::string>{"firing", "resolved"});
}

TEST_CASE("invariantd silence add|list|expire against the running daemon", "[silences][cli]") {
    silence_world w;
    REQUIRE(poll_until([&] { return w.ran(); }));
    const std::string url = "http://127.0.0.1:" + std::to_string(w.port());
    const std::map<std::string, std::string> env{{"INVARIANTD_API_TOKEN", token}, {"USER", "riley"}};

    auto added = run_command({daemon_binary(), "silence", "add", "--url", url, "--check", "missing_*",
                              "--check", "flex_*", "--for", "2h", "--comment", "seed-001 dedup migration"},
                             "", env);
    CHECK(added.exit_code == 0);
    const std::string id = added.out.substr(0, added.out.find('\n'));
    CHECK(id.size() == 36);
    CHECK(w.check()["silence_comment"] == "seed-001 dedup migration");

    auto listed = run_command({daemon_binary(), "silence", "list", "--url", url}, "", env);
    CHECK(listed.exit_code == 0);
    CHECK(listed.out.rfind("ID", 0) == 0);
    CHECK(listed.out.find(id + "  missing_*,flex_*  ") != std::string::npos);
    CHECK(listed.out.find("riley  seed-001 dedup migration") != std::string::npos);
    listed = run_command({daemon_binary(), "silence", "list", "--url", url, "--json"}, "", env);
    CHECK(nlohmann::json::parse(listed.out)[0]["id"] == id);

    // Rejected by the daemon: exit 1 with its message.
    auto refused = run_command({daemon_binary(), "silence", "add", "--url", url, "--check", "x", "--for",
                                "100d", "--comment", "too long"},
                               "", env);
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("400: 'duration' must be greater than 0 and at most 90d") != std::string::npos);
    auto wrong = run_command({daemon_binary(), "silence", "list", "--url", url}, "",
                             {{"INVARIANTD_API_TOKEN", "not-the-token"}});
    CHECK(wrong.exit_code == 1);
    CHECK(wrong.err.find("401") != std::string::npos);
    CHECK(wrong.err.find("INVARIANTD_API_TOKEN") != std::string::npos);
    CHECK(wrong.err.find("not-the-token") == std::string::npos);
    CHECK(
        run_command({daemon_binary(), "silence", "expire", "--url", url, "no-such-id"}, "", env).exit_code ==
        1);

    auto expired = run_command({daemon_binary(), "silence", "expire", "--url", url, id}, "", env);
    CHECK(expired.exit_code == 0);
    CHECK(expired.out == "silence " + id + " expired\n");
    CHECK(w.check()["silenced_until"].is_null());

    // Unreachable daemon: exit 2 naming it. Usage errors: 64.
    const auto nowhere = "http://127.0.0.1:" + std::to_string(unused_port());
    auto unreachable = run_command({daemon_binary(), "silence", "list", "--url", nowhere}, "", env);
    CHECK(unreachable.exit_code == 2);
    CHECK(unreachable.err.find("cannot reach the daemon at " + nowhere) != std::string::npos);
    CHECK(
        run_command({daemon_binary(), "silence", "add", "--check", "x", "--for", "1h"}, "", env).exit_code ==
        64);
    CHECK(run_command({daemon_binary(), "silence", "frobnicate"}, "", env).exit_code == 64);
    CHECK(run_command({daemon_binary(), "silence", "expire"}, "", env).exit_code == 64);
    // Both or neither of --for and --until, a certificate without its key: usage errors.
    CHECK(run_command({daemon_binary(), "silence", "add", "--check", "x", "--for", "1h", "--until",
                       "2030-01-01T00:00:00Z", "--comment", "c"},
                      "", env)
              .exit_code == 64);
    CHECK(run_command({daemon_binary(), "silence", "list", "--cert", "client.pem"}, "", env).exit_code == 64);
    auto usage = run_command({daemon_binary(), "silence", "list", "--colour"}, "", env);
    CHECK(usage.exit_code == 64);
    CHECK(usage.err.find("usage:") != std::string::npos);
    // --until goes to the daemon as ends_at, which names it when it is not a time.
    auto bad_until = run_command({daemon_binary(), "silence", "add", "--url", url, "--check", "x", "--until",
                                  "friday", "--comment", "c"},
                                 "", env);
    CHECK(bad_until.exit_code == 1);
    CHECK(bad_until.err.find("'ends_at' must be an RFC 3339 time") != std::string::npos);
    // A --url that is not an http(s) URL cannot reach anything: exit 2 naming it.
    auto bad_url = run_command({daemon_binary(), "silence", "list", "--url", "ftp://example"}, "", env);
    CHECK(bad_url.exit_code == 2);
    CHECK(bad_url.err.find("--url 'ftp://example' is not an http:// or https:// URL") != std::string::npos);
}

TEST_CASE("invariantd silence speaks HTTPS with a CA file and basic auth", "[silences][cli][tls]") {
    // A TLS endpoint standing in for a daemon behind HTTPS and basic auth: it records the
    // request and answers an empty silence list.
    const test_pki pki({"localhost"});
    test_receiver daemon(pki.cert("localhost"), pki.key("localhost"));
    daemon.respond_with([](const received_request&, std::size_t) {
        canned_response answer;
        answer.status = 200;
        answer.body = "[]";
        return answer;
    });
    const auto url = daemon.url("", "localhost");
    const std::map<std::string, std::string> env{{"INVARIANTD_PASSWORD", "s3cret"},
                                                 {"INVARIANTD_API_TOKEN", ""}};
    auto listed = run_command(
        {daemon_binary(), "silence", "list", "--url", url, "--ca-file", pki.ca(), "--user", "oncall"}, "",
        env);
    CHECK(listed.exit_code == 0);
    CHECK(listed.out.rfind("ID", 0) == 0);
    REQUIRE(daemon.count() == 1);
    CHECK(daemon.requests()[0].method == "GET");
    CHECK(daemon.requests()[0].target == "/api/v1/silences");
    CHECK(daemon.requests()[0].header("authorization") == "Basic b25jYWxsOnMzY3JldA==");  // oncall:s3cret
    // Without the CA the certificate is not trusted: unreachable, exit 2, and no request.
    auto untrusted = run_command({daemon_binary(), "silence", "list", "--url", url}, "",
                                 {{"SSL_CERT_FILE", pki.at("localhost.ext")}});
    CHECK(untrusted.exit_code == 2);
    CHECK(untrusted.err.find("certificate verify failed") != std::string::npos);
    CHECK(daemon.count() == 1);
}
