// Scheduler semantics on a real SQLite file: no overlap, interval from the start of a run,
// timeouts and errors as results, run-now.
#include <catch2/catch.hpp>

#include "daemon/core/check_task.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd;
using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

// Counts to 300 000 in SQL: slow enough (tens of milliseconds) that overlapping runs would be
// visible, bounded so it always finishes.
const std::string slow_query =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c";

struct harness {
    temp_dir dir;
    std::string path;
    asio::io_context loop;
    std::shared_ptr<db::database> database;
    config::daemon_config config;

    explicit harness(const std::string& checks_yaml) {
        path = (dir.path() / "t.db").string();
        sqlite_exec(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
        config = sqlite_config(path, checks_yaml);
        database = make_database(loop.get_executor(), config.databases.at(0));
    }
    ~harness() { database->close(); }

    /// A task for check `index` whose observer records results and stops it after `runs`.
    std::shared_ptr<check_task> task(std::size_t index, std::vector<checks::check_result>& results, std::size_t runs,
                                     asio::steady_timer& guard, int* finished_tasks, int total_tasks) {
        const auto& check = config.checks.at(index);
        return std::make_shared<check_task>(
            loop.get_executor(), check_instance::of(check.name), check, *checks::find_module(check.module), database,
            [&results, runs, &guard, finished_tasks, total_tasks](check_task& t, const checks::check_result& r) {
                results.push_back(r);
                if (results.size() == runs) {
                    t.stop(true);
                    if (++*finished_tasks == total_tasks) guard.cancel();
                }
            });
    }

    /// Runs the loop until the tasks stopped themselves or a generous deadline passed.
    void run(asio::steady_timer& guard) {
        guard.expires_after(60s);
        guard.async_wait([this](boost::system::error_code ec) {
            if (!ec) loop.stop();
        });
        loop.run();
    }
};

}  // namespace

TEST_CASE("runs of one check never overlap, even when a run outlasts the interval", "[scheduler]") {
    harness h("  - { name: slow, module: sql, database: db, interval: 100ms, params: { mode: scalar, query: \"" +
              slow_query + "\" } }\n");
    std::vector<checks::check_result> results;
    asio::steady_timer guard(h.loop);
    int finished = 0;
    auto task = h.task(0, results, 4, guard, &finished, 1);
    task->start();
    // Extra run requests while running must queue one run, not start a parallel one.
    asio::steady_timer nudge(h.loop, 5ms);
    nudge.async_wait([task](boost::system::error_code) {
        task->request_run();
        task->request_run();
    });
    h.run(guard);
    REQUIRE(results.size() == 4);
    for (std::size_t i = 0; i + 1 < results.size(); ++i) {
        INFO("run " << i);
        CHECK(results[i].status == checks::run_status::ok);
        CHECK(results[i].output.value == 300000);
        const auto previous_end = results[i].started + std::chrono::duration_cast<system_clock::duration>(
                                                            std::chrono::duration<double>(results[i].duration_seconds));
        CHECK(results[i + 1].started >= previous_end - 2ms);
    }
}

TEST_CASE("the interval is measured from the start of a run and never shortened", "[scheduler]") {
    harness h("  - { name: quick, module: sql, database: db, interval: 200ms, params: { query: \"SELECT x FROM t\" } }\n");
    std::vector<checks::check_result> results;
    asio::steady_timer guard(h.loop);
    int finished = 0;
    auto task = h.task(0, results, 3, guard, &finished, 1);
    task->start();
    h.run(guard);
    REQUIRE(results.size() == 3);
    for (std::size_t i = 0; i + 1 < results.size(); ++i) CHECK(results[i + 1].started - results[i].started >= 195ms);
}

TEST_CASE("a timeout and an error are results, and the schedule goes on", "[scheduler]") {
    harness h("  - { name: endless, module: sql, database: db, interval: 100ms, timeout: 150ms, params: { mode: scalar, "
              "query: \"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c\" } }\n"
              "  - { name: broken, module: sql, database: db, interval: 100ms, params: { query: \"SELECT * FROM nope\" } }\n"
              "  - { name: healthy, module: sql, database: db, interval: 100ms, params: { query: \"SELECT x FROM t\" } }\n");
    std::vector<checks::check_result> endless, broken, healthy;
    asio::steady_timer guard(h.loop);
    int finished = 0;
    auto a = h.task(0, endless, 2, guard, &finished, 3);
    auto b = h.task(1, broken, 2, guard, &finished, 3);
    auto c = h.task(2, healthy, 2, guard, &finished, 3);
    a->start();
    b->start();
    c->start();
    h.run(guard);
    REQUIRE(endless.size() == 2);
    REQUIRE(broken.size() == 2);
    REQUIRE(healthy.size() == 2);
    for (const auto& r : endless) {
        CHECK(r.status == checks::run_status::timeout);
        CHECK(r.error.find("timeout") != std::string::npos);
    }
    for (const auto& r : broken) {
        CHECK(r.status == checks::run_status::error);
        CHECK(r.error.find("no such table: nope") != std::string::npos);
    }
    for (const auto& r : healthy) CHECK(r.status == checks::run_status::ok);
    CHECK(a->status().consecutive_failures == 2);
    CHECK(b->status().consecutive_failures == 2);
    CHECK(c->status().consecutive_failures == 0);
    // The alert state now lives in the alert book; with no alert raised, a failed run shows "error".
    CHECK(b->state_name(alert_state::ok) == "error");
    CHECK(c->state_name(alert_state::ok) == "ok");
}

TEST_CASE("run-now starts a run at once and the caller gets its result", "[scheduler]") {
    harness h("  - { name: hourly, module: sql, database: db, interval: 1h, params: { query: \"SELECT x FROM t\" } }\n");
    const auto& check = h.config.checks.at(0);
    auto task = std::make_shared<check_task>(h.loop.get_executor(), check_instance::of(check.name), check,
                                             *checks::find_module(check.module),
                                             h.database, nullptr);
    task->start();
    auto scenario = [&]() -> asio::awaitable<std::uint64_t> {
        // Wait for the start-up run, then ask for one more.
        co_await task->run_now_and_wait(steady_clock::now() + 30s);
        const auto after_first = task->status().completed_runs;
        co_await task->run_now_and_wait(steady_clock::now() + 30s);
        const auto after_second = task->status().completed_runs;
        task->stop(true);
        co_return after_second - after_first;
    };
    auto extra_runs = run_to_completion(h.loop, scenario());
    CHECK(extra_runs == 1);
    CHECK(task->stopped());
    REQUIRE(task->status().last);
    CHECK(task->status().last->output.value == 1);
}
