// Cluster mode end to end (SPEC §12, README "High availability: cluster mode"): real daemons
// sharing one coordination database — a PostgreSQL 15 cluster of the test's own
// (tests/support/pg_cluster.sh), so the test can stop and start it — with a real webhook
// receiver counting every trigger and resolve it accepted.
#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <set>

#include "daemon/cluster/rendezvous.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/tcp_proxy.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

constexpr auto lease = 3s;

/// A PostgreSQL cluster of this test's own for coordination: started in the constructor,
/// removed in the destructor; stop() and start() act on the running server.
struct coordination_server {
    std::string dir;
    std::string dsn;
    std::string port;
    std::string ctl;

    coordination_server() {
        // Its own directory the postgres user can reach (a test's temp_dir is private).
        char pattern[] = "/tmp/invariantd-coordination-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        std::filesystem::permissions(
            pattern, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                         std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                         std::filesystem::perms::others_exec);
        dir = std::string(pattern) + "/pg";
        const auto started = run_command({source_path("tests/support/pg_cluster.sh"), "start", dir});
        INFO(started.err);
        REQUIRE(started.exit_code == 0);
        auto value = [&](const std::string& name) {
            const std::regex line("export " + name + "='([^']*)'");
            std::smatch match;
            REQUIRE(std::regex_search(started.out, match, line));
            return match[1].str();
        };
        dsn = value("INVARIANTD_TEST_PG_DSN");
        port = value("INVARIANTD_TEST_PG_PORT");
        ctl = value("INVARIANTD_TEST_PG_CTL");
    }
    ~coordination_server() {
        run_command({source_path("tests/support/pg_cluster.sh"), "stop", dir});
        std::error_code ignored;
        std::filesystem::remove_all(std::filesystem::path(dir).parent_path(), ignored);
    }
    void stop() const { REQUIRE(std::system((ctl + " -m fast stop >/dev/null 2>&1").c_str()) == 0); }
    void start() const { REQUIRE(std::system((ctl + " start >/dev/null 2>&1").c_str()) == 0); }
};

/// Counts what the webhook accepted, per check and status; refuses what `refuse` says.
struct counting_receiver {
    test_receiver receiver;
    mutable std::mutex mutex;
    std::map<std::pair<std::string, std::string>, int> accepted;  ///< (check, firing|resolved)
    std::function<bool(const std::string& check, const std::string& status)> refuse;

    counting_receiver() {
        receiver.respond_with([this](const received_request& request, std::size_t) {
            const auto body = request.json();
            const std::string check = body["commonLabels"]["check"];
            const std::string status = body["status"];
            std::lock_guard lock(mutex);
            if (refuse && refuse(check, status)) return canned_response{503};
            ++accepted[{check, status}];
            return canned_response{200};
        });
    }
    int count(const std::string& check, const std::string& status) const {
        std::lock_guard lock(mutex);
        auto it = accepted.find({check, status});
        return it == accepted.end() ? 0 : it->second;
    }
    int total() const {
        std::lock_guard lock(mutex);
        int sum = 0;
        for (const auto& [key, n] : accepted) sum += n;
        return sum;
    }
    void set_refuse(std::function<bool(const std::string&, const std::string&)> policy) {
        std::lock_guard lock(mutex);
        refuse = std::move(policy);
    }
};

/// Members a, b, c (and more) on one configuration: `member: ${M}`, `state_dir: state-${M}`,
/// the coordination DSN from ${COORD_DSN} (a member can be given a proxy's), checks on one
/// SQLite file: check cN fires while table `bad` holds a row for it.
struct cluster_world {
    temp_dir dir;
    coordination_server coordination;
    counting_receiver hook;
    std::string config_path;
    std::vector<std::string> checks;
    std::map<std::string, std::unique_ptr<daemon_process>> members;
    std::map<std::string, std::string> coordination_dsn;  ///< per member, when not the server's own
    int starts = 0;

    explicit cluster_world(int check_count, const std::string& database_yaml = "",
                           const std::string& check_yaml = "") {
        sqlite_exec((dir.path() / "app.db").string(),
                    "CREATE TABLE bad (id INTEGER PRIMARY KEY, check_name TEXT);");
        std::string yaml =
            "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state-${M}\nlog: { level: debug }\n"
            "databases:\n  coord: { driver: postgres, dsn: \"${COORD_DSN}\" }\n"
            "  app: { driver: sqlite, path: app.db }\n" +
            database_yaml + "checks:\n";
        for (int i = 1; i <= check_count; ++i) {
            const auto name = "c" + std::to_string(i);
            checks.push_back(name);
            if (check_yaml.empty())
                yaml +=
                    "  - { name: " + name +
                    ", database: app, module: sql, interval: 1s, params: { query: \"SELECT id FROM bad WHERE "
                    "check_name = '" +
                    name + "'\" }, alert: { when: \"> 0\", receivers: [hook] } }\n";
            else
                yaml += std::regex_replace(check_yaml, std::regex("NAME"), name);
        }
        yaml += "receivers:\n  hook: { type: webhook, url: \"" + hook.receiver.url("/hook") + "\" }\n" +
                "cluster: { database: coord, member: \"${M}\", lease: 3s }\n";
        config_path = dir.write("invariantd.yaml", yaml);
    }

    std::map<std::string, std::string> env(const std::string& member) const {
        auto it = coordination_dsn.find(member);
        return {{"M", member}, {"COORD_DSN", it == coordination_dsn.end() ? coordination.dsn : it->second}};
    }
    command_result init() const {
        return run_command({daemon_binary(), "cluster", "init", "-c", config_path}, {}, env("a"));
    }
    void start(const std::string& member) {
        ++starts;
        members[member] = std::make_unique<daemon_process>(
            config_path, (dir.path() / (member + "-" + std::to_string(starts) + ".log")).string(),
            env(member));
    }
    void stop(const std::string& member) {
        members.at(member)->signal(SIGTERM);
        REQUIRE(members.at(member)->wait_exit(20s) == std::optional<int>(0));
        members.erase(member);
    }
    void kill9(const std::string& member) {
        members.at(member)->signal(SIGKILL);
        members.at(member)->wait_exit(10s);
        members.erase(member);
    }
    std::uint16_t port(const std::string& member) const { return members.at(member)->port(); }
    nlohmann::json get(const std::string& member, const std::string& path) const {
        const auto reply = http_get(port(member), path);
        REQUIRE(reply.status == 200);
        return nlohmann::json::parse(reply.body);
    }
    /// True when `member` sees exactly `expected` live members and holds its lease.
    bool sees(const std::string& member, const std::set<std::string>& expected) const {
        const auto reply = http_get(port(member), "/api/v1/cluster");
        if (reply.status != 200) return false;
        const auto body = nlohmann::json::parse(reply.body);
        std::set<std::string> live;
        for (const auto& m : body["members"])
            if (m["live"].get<bool>()) live.insert(m["name"].get<std::string>());
        return body["is_member"].get<bool>() && live == expected;
    }
    void wait_until_all_see(const std::set<std::string>& expected) const {
        for (const auto& [name, process] : members)
            REQUIRE(poll_until([&] { return sees(name, expected); }, 20s));
    }
    static std::string owner(const std::set<std::string>& live, const std::string& check) {
        return invariantd::cluster::rendezvous_owner(std::vector<std::string>(live.begin(), live.end()),
                                                     check)
            .value();
    }
    /// The first check `member` owns among `live`.
    std::string owned_by(const std::string& member, const std::set<std::string>& live) const {
        for (const auto& check : checks)
            if (owner(live, check) == member) return check;
        FAIL("no check is owned by " << member);
        return {};
    }
    void set_bad(const std::string& check, bool bad) const {
        // Three daemons read the file every second: under load a write can meet a reader's
        // lock ("database is locked"), so it is retried until it gets through.
        const auto sql = bad ? "INSERT INTO bad (check_name) VALUES ('" + check + "');"
                             : "DELETE FROM bad WHERE check_name = '" + check + "';";
        REQUIRE(poll_until([&] {
            try {
                sqlite_exec((dir.path() / "app.db").string(), sql);
                return true;
            } catch (const std::exception&) {
                return false;
            }
        }));
    }
    /// Completed runs of `check` on `member` (its owner), from the API's last_run.
    std::string last_run(const std::string& member, const std::string& check) const {
        const auto body = get(member, "/api/v1/checks/" + check);
        return body["last_run"].is_null() ? "" : body["last_run"].get<std::string>();
    }
    std::string logs() const {
        std::string all;
        for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
            if (entry.path().extension() == ".log") all += read_file(entry.path());
        return all;
    }
};

}  // namespace

TEST_CASE(
    "cluster: init and start-up errors, each check runs on exactly one member, owners by the SPEC's score",
    "[cluster]") {
    // The monitored database is the suite's PostgreSQL: its pg_stat_statements counts how
    // often the checks' statement really ran, whoever ran it. The nine checks share one
    // statement shape (pg_stat_statements ignores aliases), found by its text.
    const std::string shape =
        "SELECT current_setting('application_name') AS app, pg_backend_pid() AS cluster_probe";
    const std::string pg_checks =
        "  - { name: NAME, database: monitored, module: sql, interval: 1s, params: { query: \"" + shape +
        "\" } }\n";
    cluster_world w(9, "  monitored: { driver: postgres, dsn: \"" + pg_dsn() + "\" }\n", pg_checks);

    SECTION("start-up without the schema: exit 70 naming cluster init; --print shows the DDL") {
        const auto refused = run_command({daemon_binary(), "run", "-c", w.config_path}, {}, w.env("a"));
        CHECK(refused.exit_code == 70);
        CHECK_THAT(refused.out + refused.err, Catch::Contains("invariantd cluster init -c"));
        CHECK_THAT(refused.out + refused.err, !Catch::Contains(w.coordination.dsn));
        const auto printed =
            run_command({daemon_binary(), "cluster", "init", "-c", w.config_path, "--print"}, {}, w.env("a"));
        CHECK(printed.exit_code == 0);
        CHECK_THAT(printed.out, Catch::Contains("CREATE TABLE IF NOT EXISTS \"invariantd\".members"));
        CHECK_THAT(printed.out, Catch::Contains("COMMIT;"));
        // Bad command lines: an unknown flag is a usage error, a configuration without a
        // cluster section a configuration error.
        CHECK(run_command({daemon_binary(), "cluster", "init", "-c", w.config_path, "--bogus"}, {}, w.env("a"))
                  .exit_code == 64);
        CHECK(run_command({daemon_binary(), "cluster", "frob"}).exit_code == 64);
        const auto plain = w.dir.write("plain.yaml", "databases:\n  app: { driver: sqlite, path: app.db }\n");
        const auto no_cluster = run_command({daemon_binary(), "cluster", "init", "-c", plain});
        CHECK(no_cluster.exit_code == 78);
        CHECK_THAT(no_cluster.err, Catch::Contains("no 'cluster' section"));
        // --print wrote nothing.
        CHECK(run_command({daemon_binary(), "run", "-c", w.config_path}, {}, w.env("a")).exit_code == 70);
    }

    const auto first = w.init();
    REQUIRE(first.exit_code == 0);
    CHECK_THAT(first.out, Catch::Contains("now at version 1 (was absent)"));
    const auto again = w.init();  // idempotent
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("already at version 1"));

    SECTION("an unreachable coordination database: cluster init exits 2 without the password") {
        auto env = w.env("a");
        env["COORD_DSN"] = "host=127.0.0.1 port=" + std::to_string(unused_port()) +
                           " dbname=x user=x password=Sup3rSecretPw connect_timeout=2";
        const auto failed = run_command({daemon_binary(), "cluster", "init", "-c", w.config_path}, {}, env);
        CHECK(failed.exit_code == 2);
        CHECK_THAT(failed.out + failed.err, !Catch::Contains("Sup3rSecretPw"));
    }

    SECTION("a schema newer than the binary: start-up exit 70, cluster init exit 2") {
        pg_exec(w.coordination.dsn, "UPDATE invariantd.schema_version SET version = 99");
        const auto refused = run_command({daemon_binary(), "run", "-c", w.config_path}, {}, w.env("a"));
        CHECK(refused.exit_code == 70);
        CHECK_THAT(refused.out + refused.err, Catch::Contains("newer than this binary"));
        CHECK(w.init().exit_code == 2);
    }

    SECTION("three members") {
        const std::set<std::string> all{"a", "b", "c"};
        for (const auto& m : all) w.start(m);
        w.wait_until_all_see(all);

        // A second live member named 'a' is refused at start.
        const auto duplicate = run_command({daemon_binary(), "run", "-c", w.config_path}, {}, w.env("a"));
        CHECK(duplicate.exit_code == 70);
        CHECK_THAT(duplicate.out + duplicate.err, Catch::Contains("another replica uses this name"));

        // Every member names the same owner for every check: the SPEC's rendezvous score.
        std::map<std::string, int> per_member;
        for (const auto& m : all) {
            const auto list = w.get(m, "/api/v1/checks");
            REQUIRE(list.size() == w.checks.size());
            for (const auto& check : list)
                CHECK(check["owner"] == cluster_world::owner(all, check["name"].get<std::string>()));
        }
        for (const auto& check : w.checks) ++per_member[cluster_world::owner(all, check)];
        CHECK(per_member.size() == 3);  // spread over every member

        // The owner runs it, as application_name invariantd/<owner> says in the database.
        for (const auto& check : w.checks) {
            const auto owner = cluster_world::owner(all, check);
            REQUIRE(poll_until([&] { return !w.last_run(owner, check).empty(); }, 20s));
            const auto body = w.get(owner, "/api/v1/checks/" + check);
            CHECK(body["samples"][0]["app"] == "invariantd/" + owner);
        }

        // Every member shows every check's result with a fresh last_run, whoever runs it.
        for (const auto& check : w.checks) {
            const auto owner = cluster_world::owner(all, check);
            const auto other = owner == "a" ? std::string("b") : std::string("a");
            const auto seen = w.last_run(other, check);
            REQUIRE(poll_until(
                [&] { return !w.last_run(other, check).empty() && w.last_run(other, check) != seen; }, 10s));
            const auto body = w.get(other, "/api/v1/checks/" + check);
            CHECK(body["owner"] == owner);
            CHECK(body["samples"][0]["app"] == "invariantd/" + owner);
            CHECK(body["duration_seconds"].is_number());
            // Its history chart grows there too.
            CHECK(poll_until([&] { return w.get(other, "/api/v1/checks/" + check + "/history").size() >= 2; }, 10s));
        }

        // Each member exports its own checks and the cluster metrics.
        double owned_total = 0;
        for (const auto& m : all) {
            const auto metrics = http_get(w.port(m), "/metrics").body;
            CHECK(metric_value(metrics, "invariantd_cluster_members") == 3.0);
            CHECK(metric_value(metrics, "invariantd_cluster_is_member") == 1.0);
            owned_total += metric_value(metrics, "invariantd_cluster_owned_checks").value_or(-100);
            for (const auto& check : w.checks) {
                const bool exported =
                    metric_value(metrics, "invariantd_check_up{check=\"" + check + "\"").has_value();
                CHECK(exported == (cluster_world::owner(all, check) == m));
            }
            const auto cluster = w.get(m, "/api/v1/cluster");
            CHECK(cluster["self"] == m);
            REQUIRE(cluster["members"].size() == 3);
            for (const auto& member : cluster["members"])
                CHECK(member["owned_checks"] == per_member[member["name"].get<std::string>()]);
        }
        CHECK(owned_total == static_cast<double>(w.checks.size()));

        // Exactly once: over a window, the statements the database executed equal the runs
        // the owners reported (a second runner would double them).
        auto calls = [&] {
            return pg_scalar(
                pg_dsn(),
                "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE query LIKE "
                "'%pg_backend_pid() AS cluster_probe%'");
        };
        auto runs = [&] {
            double sum = 0;
            for (const auto& m : all) {
                const auto metrics = http_get(w.port(m), "/metrics").body;
                for (const auto& check : w.checks)
                    for (const char* outcome : {"ok", "violation", "error", "timeout"})
                        sum += metric_value(metrics, "invariantd_check_runs_total{check=\"" + check +
                                                         "\",outcome=\"" + outcome + "\"}")
                                   .value_or(0);
            }
            return sum;
        };
        const auto calls_before = calls();
        const auto runs_before = runs();
        const auto until = std::chrono::steady_clock::now() + 5s;
        poll_until([&] { return std::chrono::steady_clock::now() > until; }, 10s);
        const auto executed = static_cast<double>(calls() - calls_before);
        const auto ran = runs() - runs_before;
        INFO("executed " << executed << ", runs " << ran);
        CHECK(ran >= 3.0 * static_cast<double>(w.checks.size()));
        // A run in flight at either end may count on one side only.
        CHECK(std::abs(executed - ran) <= static_cast<double>(w.checks.size()));

        // The status pages of every member say which member runs a check.
        for (const auto& check : w.checks) {
            const auto page = http_get(w.port("a"), "/checks/" + check);
            REQUIRE(page.status == 200);
            CHECK_THAT(page.body, Catch::Contains("runs on member <span class=\"owner\">" +
                                                  cluster_world::owner(all, check) + "</span>"));
        }
        CHECK_THAT(http_get(w.port("c"), "/").body, Catch::Contains("runs on member <span class=\"owner\">b</span>"));

        // A run requested on a member that does not own the check is refused with the owner.
        const auto check = w.owned_by("b", all);
        const auto refused = http_call(w.port("a"), "POST", "/api/v1/checks/" + check + "/run");
        CHECK(refused.status == 409);
        CHECK_THAT(refused.body, Catch::Contains("'b'"));
    }
}

TEST_CASE(
    "cluster: kill -9 of an owner moves its checks without a re-page, its queued resolve is delivered "
    "elsewhere, a rolling restart sends nothing",
    "[cluster][failover]") {
    cluster_world w(9);
    REQUIRE(w.init().exit_code == 0);
    const std::set<std::string> all{"a", "b", "c"};
    for (const auto& m : all) w.start(m);
    w.wait_until_all_see(all);

    // Two checks of member a fire: `keeps` stays firing, `heals` resolves while the
    // receiver refuses its resolve, so a dies with the resolve queued.
    std::vector<std::string> of_a;
    for (const auto& check : w.checks)
        if (cluster_world::owner(all, check) == "a") of_a.push_back(check);
    REQUIRE(of_a.size() >= 2);
    const auto keeps = of_a[0];
    const auto heals = of_a[1];
    w.set_bad(keeps, true);
    w.set_bad(heals, true);
    REQUIRE(poll_until(
        [&] { return w.hook.count(keeps, "firing") == 1 && w.hook.count(heals, "firing") == 1; }, 20s));

    // The offender's first_seen as its owner's ledger has it.
    const auto offenders_before = w.get("a", "/api/v1/checks/" + keeps + "/offenders");
    REQUIRE(offenders_before["offenders"].size() == 1);
    const auto first_seen = offenders_before["offenders"][0]["first_seen"];

    std::atomic<int> refused_resolves{0};
    w.hook.set_refuse([&, heals](const std::string& check, const std::string& status) {
        if (check == heals && status == "resolved") {
            ++refused_resolves;
            return true;
        }
        return false;
    });
    w.set_bad(heals, false);
    REQUIRE(poll_until([&] { return refused_resolves.load() >= 1; }, 20s));

    const auto killed_at = std::chrono::steady_clock::now();
    w.kill9("a");
    w.hook.set_refuse({});
    const std::set<std::string> rest{"b", "c"};
    const auto new_owner = cluster_world::owner(rest, keeps);
    // Within 2 × lease (+ the interval and a scheduling margin) its checks run on their new
    // owner: it exports the check (only an owner does, once it has read the check's shared
    // state) and its own run then moves last_run (a non-owner's API shows the owner's
    // mirrored results, so last_run alone does not tell who ran it).
    std::string adopted_run;
    REQUIRE(poll_until(
        [&] {
            const auto metrics = http_get(w.port(new_owner), "/metrics").body;
            if (!metric_value(metrics, "invariantd_check_up{check=\"" + keeps + "\"")) {
                adopted_run = w.last_run(new_owner, keeps);
                return false;
            }
            return w.last_run(new_owner, keeps) != adopted_run;
        },
        2 * lease + 1s + 2s));
    INFO("moved after " << std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - killed_at)
                               .count()
                        << " ms");
    CHECK(w.get(new_owner, "/api/v1/checks/" + keeps)["state"] == "firing");
    // The new owner continues the offender ledger: the offender is not new, first_seen kept.
    const auto offenders_after = w.get(new_owner, "/api/v1/checks/" + keeps + "/offenders");
    REQUIRE(offenders_after["offenders"].size() == 1);
    CHECK(offenders_after["offenders"][0]["first_seen"] == first_seen);
    CHECK(offenders_after["offenders"][0]["new"] == false);
    // The resolve a had queued is delivered by a member that is alive, exactly once.
    REQUIRE(poll_until([&] { return w.hook.count(heals, "resolved") == 1; }, 20s));
    CHECK_THAT(w.logs(), Catch::Contains("took over 1 queued notifications from departed members"));

    // Nothing was paged again: one trigger each, one resolve.
    CHECK(w.hook.count(keeps, "firing") == 1);
    CHECK(w.hook.count(heals, "firing") == 1);
    CHECK(w.hook.count(keeps, "resolved") == 0);

    // Rolling restart: a comes back, then b and c go down and up one by one.
    const int total = w.hook.total();
    w.start("a");
    w.wait_until_all_see(all);
    for (const auto& m : {"b", "c", "a"}) {
        w.stop(m);
        w.start(m);
        w.wait_until_all_see(all);
    }
    // Every check has run on its owner since the last restart, and nothing was sent.
    for (const auto& check : w.checks) {
        const auto owner = cluster_world::owner(all, check);
        const auto seen = w.last_run(owner, check);
        REQUIRE(poll_until([&] { return w.last_run(owner, check) != seen; }, 20s));
    }
    CHECK(w.hook.total() == total);
    CHECK(w.get(cluster_world::owner(all, keeps), "/api/v1/checks/" + keeps)["state"] == "firing");
    // Every member's API shows the firing alert, whoever owns it.
    for (const auto& m : all)
        CHECK(poll_until([&] { return w.get(m, "/api/v1/checks/" + keeps)["state"] == "firing"; }, 10s));
}

TEST_CASE(
    "cluster: a partitioned member is fenced while another takes over; with the coordination database "
    "stopped nothing runs and nothing is paged twice",
    "[cluster][fencing]") {
    cluster_world w(9);
    REQUIRE(w.init().exit_code == 0);
    // Member c reaches the coordination database only through a proxy the test controls.
    tcp_proxy proxy("127.0.0.1", static_cast<std::uint16_t>(std::stoi(w.coordination.port)));
    w.coordination_dsn["c"] = std::regex_replace(w.coordination.dsn, std::regex("port=\\d+"),
                                                 "port=" + std::to_string(proxy.port()));
    const std::set<std::string> all{"a", "b", "c"};
    for (const auto& m : all) w.start(m);
    w.wait_until_all_see(all);

    SECTION("partition") {
        const auto check = w.owned_by("c", all);
        proxy.pause(true);
        w.set_bad(check, true);  // c runs it within its lease, but cannot commit the trigger
        REQUIRE(poll_until([&] { return http_get(w.port("c"), "/health").status == 503; }, lease + 2s));
        CHECK(http_get(w.port("c"), "/livez").status == 200);
        // Another member takes the check over and pages once.
        REQUIRE(poll_until([&] { return w.hook.count(check, "firing") == 1; }, 2 * lease + 5s));
        proxy.pause(false);
        REQUIRE(poll_until([&] { return w.sees("c", all); }, 20s));
        REQUIRE(poll_until([&] { return http_get(w.port("c"), "/health").status == 200; }, 10s));
        // c's trigger was refused when its connection came back: fenced, withdrawn.
        REQUIRE(
            poll_until([&] { return w.logs().find("notifications withdrawn") != std::string::npos; }, 20s));
        // c owns the check again and continues from the shared state: no second page.
        const auto seen = w.last_run("c", check);
        REQUIRE(poll_until([&] { return w.last_run("c", check) != seen; }, 20s));
        CHECK(w.hook.count(check, "firing") == 1);
        CHECK(w.get("c", "/api/v1/checks/" + check)["state"] == "firing");
    }

    SECTION("coordination database stopped and started") {
        const auto firing = w.owned_by("a", all);
        w.set_bad(firing, true);
        REQUIRE(poll_until([&] { return w.hook.count(firing, "firing") == 1; }, 20s));
        w.coordination.stop();
        for (const auto& m : all) {
            REQUIRE(poll_until([&] { return http_get(w.port(m), "/health").status == 503; }, lease + 3s));
            CHECK(http_get(w.port(m), "/livez").status == 200);
            const auto metrics = http_get(w.port(m), "/metrics").body;
            CHECK(metric_value(metrics, "invariantd_cluster_is_member") == 0.0);
            CHECK(metric_value(metrics, "invariantd_cluster_owned_checks") == 0.0);
        }
        // Nothing runs: a new violation is not noticed while the members are fenced.
        const auto during = w.owned_by("b", all);
        const auto last = w.last_run("b", during);
        w.set_bad(during, true);
        const auto until = std::chrono::steady_clock::now() + 2s;
        poll_until([&] { return std::chrono::steady_clock::now() > until; }, 5s);
        CHECK(w.last_run("b", during) == last);
        CHECK(w.hook.count(during, "firing") == 0);

        w.coordination.start();
        w.wait_until_all_see(all);
        REQUIRE(poll_until([&] { return w.hook.count(during, "firing") == 1; }, 20s));
        for (const auto& m : all) CHECK(http_get(w.port(m), "/health").status == 200);
        // The alert that fired before the outage was not paged again.
        const auto seen = w.last_run("a", firing);
        REQUIRE(poll_until([&] { return w.last_run("a", firing) != seen; }, 20s));
        CHECK(w.hook.count(firing, "firing") == 1);
        CHECK(w.hook.count(during, "firing") == 1);
    }
}

TEST_CASE("cluster: a single daemon's firing alert is not re-paged when it restarts as the first member",
          "[cluster][import]") {
    cluster_world w(3);
    // The same configuration without the cluster section: a single daemon with state-a.
    const auto single = read_file(w.config_path);
    const auto without_cluster = single.substr(0, single.find("cluster:"));
    const auto single_path = w.dir.write("single.yaml", without_cluster);
    w.set_bad("c1", true);
    {
        daemon_process daemon(single_path, (w.dir.path() / "single.log").string(), w.env("a"));
        REQUIRE(poll_until([&] { return w.hook.count("c1", "firing") == 1; }, 20s));
        // A silence of the single daemon's (on a check no member has) travels too.
        REQUIRE(http_call(daemon.port(), "POST", "/api/v1/silences", {{"Content-Type", "application/json"}},
                          R"({"checks": ["not_a_check"], "duration": "2h", "comment": "imported",
                              "created_by": "test"})")
                    .status == 201);
        daemon.signal(SIGTERM);
        REQUIRE(daemon.wait_exit(20s) == std::optional<int>(0));
    }
    REQUIRE(w.init().exit_code == 0);
    w.start("a");
    w.wait_until_all_see({"a"});
    REQUIRE(poll_until([&] { return !w.last_run("a", "c1").empty(); }, 20s));
    const auto seen = w.last_run("a", "c1");
    REQUIRE(poll_until([&] { return w.last_run("a", "c1") != seen; }, 20s));
    CHECK(w.get("a", "/api/v1/checks/c1")["state"] == "firing");
    CHECK(w.hook.count("c1", "firing") == 1);
    CHECK_THAT(w.logs(), Catch::Contains("imported 1 alert records"));
    CHECK(w.get("a", "/api/v1/silences").dump().find("\"comment\":\"imported\"") != std::string::npos);
    // Imported once: the resolve still works from the shared state.
    w.set_bad("c1", false);
    REQUIRE(poll_until([&] { return w.hook.count("c1", "resolved") == 1; }, 20s));
}
