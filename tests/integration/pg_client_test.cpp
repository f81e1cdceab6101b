// The coordination database's client (db::pg_client): the non-blocking libpq driver in
// read-write mode, against the real PostgreSQL 15 cluster started by tests/run.sh.
#include <catch2/catch.hpp>
#include <thread>

#include "daemon/db/pg_client.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/tcp_proxy.hpp"

using namespace invariantd;
using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

db::pg_client_options client_options(const std::string& dsn, const std::string& application) {
    return {.name = "the coordination database",
            .dsn = dsn,
            .application_name = application,
            .connect_timeout = duration(3000),
            .statement_timeout = duration(20000)};
}

/// Counts ticks of a 20 ms timer on `loop` until stopped: the loop ran while they grow.
struct loop_ticker {
    asio::steady_timer timer;
    std::size_t ticks = 0;
    bool stopped = false;
    explicit loop_ticker(asio::io_context& loop) : timer(loop) { arm(); }
    void arm() {
        timer.expires_after(20ms);
        timer.async_wait([this](boost::system::error_code ec) {
            if (ec || stopped) return;
            ++ticks;
            arm();
        });
    }
    void stop() {
        stopped = true;
        timer.cancel();
    }
};

}  // namespace

TEST_CASE("pg_client: writes in transactions, typed rows, statements serialised", "[postgres][cluster]") {
    pg_exec(pg_dsn(), "DROP TABLE IF EXISTS pg_client_rows; CREATE TABLE pg_client_rows (id int PRIMARY KEY, note text)");
    asio::io_context loop;
    db::pg_client client(loop.get_executor(), client_options(pg_dsn(), "invariantd/pgclient-a"));
    const auto deadline = steady_clock::now() + 10s;

    auto work = [&]() -> asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> seen;
        std::vector<db::value> none;
        co_await client.exec("BEGIN", none, deadline);
        std::vector<db::value> first{std::string("1"), std::string("one")};
        co_await client.exec("INSERT INTO pg_client_rows VALUES ($1, $2)", first, deadline);
        co_await client.exec("COMMIT", none, deadline);
        // A failed transaction is rolled back: its row never lands.
        co_await client.exec("BEGIN", none, deadline);
        std::vector<db::value> second{std::string("2"), std::string("two")};
        co_await client.exec("INSERT INTO pg_client_rows VALUES ($1, $2)", second, deadline);
        bool failed = false;
        try {
            co_await client.exec("INSERT INTO pg_client_rows VALUES ($1, $2)", first, deadline);  // duplicate key
        } catch (const db::error&) {
            failed = true;
        }
        if (failed) co_await client.rollback();
        seen.push_back(failed ? "failed" : "not failed");
        const auto rows = co_await client.exec(
            "SELECT id, note, current_setting('application_name'), current_setting('transaction_read_only') "
            "FROM pg_client_rows ORDER BY id",
            none, deadline);
        for (const auto& row : rows.rows)
            seen.push_back(std::to_string(db::integer_of(row[0])) + " " + db::text_of(row[1]) + " " +
                           db::text_of(row[2]) + " " + db::text_of(row[3]));
        co_return seen;
    };
    const auto seen = run_to_completion(loop, work());
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == "failed");
    CHECK(seen[1] == "1 one invariantd/pgclient-a off");

    // Two callers at once: the second waits for the first's statement, both succeed.
    auto sleeper = [&](std::string tag) -> asio::awaitable<std::string> {
        std::vector<db::value> params{tag};
        const auto rows = co_await client.exec("SELECT $1::text FROM pg_sleep(0.2)", params,
                                               steady_clock::now() + 10s);
        co_return db::text_of(rows.rows.at(0).at(0));
    };
    auto a = asio::co_spawn(loop, sleeper("a"), asio::use_future);
    auto b = asio::co_spawn(loop, sleeper("b"), asio::use_future);
    loop.restart();
    loop.run();
    CHECK(a.get() == "a");
    CHECK(b.get() == "b");
}

TEST_CASE("pg_client: a statement past its deadline fails, the server ends it, the loop keeps running",
          "[postgres][cluster]") {
    asio::io_context loop;
    db::pg_client client(loop.get_executor(), client_options(pg_dsn(), "invariantd/pgclient-b"));
    loop_ticker ticker(loop);
    std::size_t ticks_during = 0;
    auto work = [&]() -> asio::awaitable<std::string> {
        std::vector<db::value> none;
        std::string outcome;
        try {
            // The server's statement_timeout (20 s) would not stop it: the client's deadline does.
            co_await client.exec("SELECT pg_sleep(30)", none, steady_clock::now() + 300ms);
            outcome = "returned";
        } catch (const db::error& e) {
            outcome = e.kind() == db::error_kind::timeout ? "timeout" : std::string("other: ") + e.what();
        }
        ticks_during = ticker.ticks;
        // The next statement gets a new connection and works.
        const auto rows = co_await client.exec("SELECT 41 + 1", none, steady_clock::now() + 10s);
        outcome += " then " + std::to_string(db::integer_of(rows.rows.at(0).at(0)));
        ticker.stop();
        co_return outcome;
    };
    CHECK(run_to_completion(loop, work()) == "timeout then 42");
    // The loop ran while the statement was outstanding (a blocking client would have stopped it).
    CHECK(ticks_during > 5);
    // ...and the server ended the sleep of the dropped connection (its statement_timeout is
    // 20 s, the sleep 30 s: only the client check can have ended it within the 10 s here).
    const auto deadline = steady_clock::now() + 10s;
    long long sleeping = 1;
    while (steady_clock::now() < deadline) {
        sleeping = pg_scalar(pg_dsn(),
                             "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'invariantd/pgclient-b' "
                             "AND query LIKE 'SELECT pg_sleep(30)%' AND state = 'active'");
        if (sleeping == 0) break;
        std::this_thread::sleep_for(50ms);
    }
    CHECK(sleeping == 0);
}

TEST_CASE("pg_client: a silent network fails the statement at its deadline, without the password", "[postgres][cluster]") {
    // A proxy that stops forwarding: the statement's bytes go nowhere and no answer comes.
    tcp_proxy proxy("127.0.0.1", static_cast<std::uint16_t>(std::stoi(pg_port())));
    const std::string dsn = "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                            " dbname=invariantd_test user=invariantd_test password=" + pg_password() +
                            " sslmode=disable";
    asio::io_context loop;
    db::pg_client client(loop.get_executor(), client_options(dsn, "invariantd/pgclient-c"));
    loop_ticker ticker(loop);
    auto work = [&]() -> asio::awaitable<std::string> {
        std::vector<db::value> none;
        co_await client.exec("SELECT 1", none, steady_clock::now() + 10s);
        proxy.pause(true);
        std::string outcome;
        try {
            co_await client.exec("SELECT 2", none, steady_clock::now() + 300ms);
            outcome = "returned";
        } catch (const db::error& e) {
            outcome = e.what();
        }
        ticker.stop();
        co_return outcome;
    };
    const auto outcome = run_to_completion(loop, work());
    proxy.pause(false);
    CHECK_THAT(outcome, Catch::Contains("no answer before the deadline"));
    CHECK_THAT(outcome, !Catch::Contains(pg_password()));
    CHECK(ticker.ticks > 5);
}
