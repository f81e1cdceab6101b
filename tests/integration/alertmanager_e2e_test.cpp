// invariantd's alertmanager receiver against Debian's real Alertmanager (issue #16): the
// alert is held by both instances of a `url` list with the right labels and annotations,
// reaches a webhook through Alertmanager's own grouping, and resolves there after the fix.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/alertmanager_server.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

/// The invariantd alert Alertmanager holds for `check`, or null.
nlohmann::json held(const alertmanager_server& am, const std::string& check) {
    for (const auto& alert : am.alerts())
        if (alert["labels"].value("check", "") == check) return alert;
    return nullptr;
}

/// Webhook posts (Alertmanager's own notifications) whose status is `status` and that
/// carry an alert of `check`.
std::size_t hook_posts(const test_receiver& hook, const std::string& status, const std::string& check) {
    std::size_t count = 0;
    for (const auto& request : hook.requests()) {
        const auto body = request.json();
        if (body["status"] != status) continue;
        for (const auto& alert : body["alerts"])
            if (alert["labels"].value("check", "") == check) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("a real Alertmanager pair holds the alert, notifies through its grouping and resolves it",
          "[alerts][alertmanager][e2e]") {
    temp_dir dir;
    test_receiver hook;
    alertmanager_server am1(dir, "am1", hook.url("/hook"));
    alertmanager_server am2(dir, "am2", hook.url("/hook"));
    const auto db = (dir.path() / "pos.db").string();
    sqlite_exec(db,
                "CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER, bar TEXT);"
                "INSERT INTO sales (server_id, bar) VALUES (7, 'north'), (NULL, 'north'), (NULL, 'south');");
    const auto config =
        dir.write("invariantd.yaml",
                  "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\n"
                  "databases:\n  pos: { driver: sqlite, path: pos.db }\n"
                  "checks:\n  - name: missing_server\n    module: sql\n    database: pos\n    interval: 1h\n"
                  "    params: { query: \"SELECT id, bar FROM sales WHERE server_id IS NULL ORDER BY id\" }\n"
                  "    alert:\n      when: \"> 0\"\n      severity: warning\n      receivers: [am]\n"
                  "      summary: \"{{value}} sales without a server\"\n"
                  "      runbook_url: https://wiki.example.com/runbooks/004\n"
                  "receivers:\n  am: { type: alertmanager, url: [\"" +
                      am1.url() + "\", \"" + am2.url() + "\"] }\n");
    daemon_process daemon(config, (dir.path() / "daemon.log").string());

    // Both instances hold it, with invariantd's labels and annotations.
    nlohmann::json alert;
    REQUIRE(poll_until([&] { return !held(am2, "missing_server").is_null(); }, 30s));
    REQUIRE(poll_until([&] { return !(alert = held(am1, "missing_server")).is_null(); }, 30s));
    CHECK(alert["labels"]["alertname"] == "missing_server");
    CHECK(alert["labels"]["severity"] == "warning");
    CHECK(alert["labels"]["database"] == "pos");
    CHECK(alert["labels"]["module"] == "sql");
    CHECK(alert["labels"]["service"] == "invariantd");
    CHECK(alert["annotations"]["summary"] == "2 sales without a server");
    CHECK(alert["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/004");
    CHECK(alert["annotations"]["value"] == "2");
    CHECK(alert["status"]["state"] == "active");

    // Alertmanager's own notification reaches the webhook after its group_wait — once per
    // instance (the two are not clustered here, so each notifies).
    REQUIRE(poll_until([&] { return hook_posts(hook, "firing", "missing_server") >= 2; }, 30s));

    // The runbook's fix: the next run resolves it in both, and Alertmanager says so.
    sqlite_exec(db, "UPDATE sales SET server_id = 9 WHERE server_id IS NULL;");
    REQUIRE(http_call(daemon.port(), "POST", "/api/v1/checks/missing_server/run?wait=1").status == 200);
    REQUIRE(poll_until([&] { return hook_posts(hook, "resolved", "missing_server") >= 2; }, 30s));
    CHECK(poll_until(
        [&] { return held(am1, "missing_server").is_null() && held(am2, "missing_server").is_null(); }, 30s));
}
