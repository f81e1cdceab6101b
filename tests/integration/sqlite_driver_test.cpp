// The SQLite driver against real database files: read-only in every way, bounded, and
// answering with a clear error when it cannot run.
#include <catch2/catch.hpp>

#include "checks/dialect.hpp"
#include "daemon/db/sqlite_database.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd;
using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

struct query_outcome {
    bool ok = false;
    db::error_kind kind = db::error_kind::query;
    std::string message;
    db::rowset rows;
};

query_outcome query_once(const std::string& path, const std::string& sql, std::vector<db::value> params = {},
                         duration timeout = 5s, std::size_t max_connections = 2) {
    asio::io_context loop;
    auto database = db::sqlite_database::create(loop.get_executor(), {"test", path, max_connections, 1s});
    auto work = [&]() -> asio::awaitable<query_outcome> {
        query_outcome outcome;
        try {
            auto session = co_await database->open_session(steady_clock::now() + timeout);
            outcome.rows = co_await session->query(sql, std::move(params), 100);
            outcome.ok = true;
        } catch (const db::error& e) {
            outcome.kind = e.kind();
            outcome.message = e.what();
        }
        co_return outcome;
    };
    auto outcome = run_to_completion(loop, work());
    database->close();
    loop.restart();
    loop.run();  // let the session hand its connection back
    return outcome;
}

}  // namespace

TEST_CASE("values come back typed and parameters are bound, not pasted", "[sqlite]") {
    temp_dir dir;
    const auto path = (dir.path() / "t.db").string();
    sqlite_exec(path, "CREATE TABLE t(id INTEGER, name TEXT, score REAL, note TEXT);"
                      "INSERT INTO t VALUES (1, 'a', 1.5, NULL), (2, 'O''Brien', 2.5, 'x');");
    auto outcome = query_once(path, "SELECT id, name, score, note FROM t WHERE name = ? ORDER BY id",
                              {std::string("O'Brien")});
    REQUIRE(outcome.ok);
    CHECK(outcome.rows.columns == std::vector<std::string>{"id", "name", "score", "note"});
    REQUIRE(outcome.rows.rows.size() == 1);
    CHECK(std::get<std::int64_t>(outcome.rows.rows[0][0]) == 2);
    CHECK(std::get<std::string>(outcome.rows.rows[0][1]) == "O'Brien");
    CHECK(std::get<double>(outcome.rows.rows[0][2]) == 2.5);
    CHECK(std::get<std::string>(outcome.rows.rows[0][3]) == "x");

    // A value that looks like SQL stays a value.
    outcome = query_once(path, "SELECT count(*) FROM t WHERE name = ?", {std::string("a' OR '1'='1")});
    REQUIRE(outcome.ok);
    CHECK(std::get<std::int64_t>(outcome.rows.rows[0][0]) == 0);
}

TEST_CASE("numbered placeholders: values bound in any order relative to the text", "[sqlite]") {
    temp_dir dir;
    const auto path = (dir.path() / "t.db").string();
    sqlite_exec(path, "CREATE TABLE t(id INTEGER);");
    // The second operand is bound first, and the first placeholder is used twice: with bare
    // `?` this would compute 2 - 10 + 2.
    checks::bound_values values(checks::dialect_of(db::driver_kind::sqlite));
    const auto second = values.bind(std::int64_t{2});
    const auto first = values.bind(std::int64_t{10});
    const auto outcome = query_once(path, "SELECT " + first + " - " + second + " + " + first, values.take());
    REQUIRE(outcome.ok);
    CHECK(std::get<std::int64_t>(outcome.rows.rows[0][0]) == 18);
}

TEST_CASE("every kind of write is refused with a clear error and nothing is written", "[sqlite][safety]") {
    temp_dir dir;
    const auto path = (dir.path() / "t.db").string();
    sqlite_exec(path, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t(v) VALUES ('a'), ('b');");
    for (const char* write : {"DELETE FROM t", "UPDATE t SET v = 'z'", "INSERT INTO t(v) VALUES ('c')",
                              "CREATE TABLE u(x)", "DROP TABLE t", "CREATE INDEX i ON t(v)", "REPLACE INTO t VALUES (1, 'q')",
                              "SELECT 1; DELETE FROM t", "PRAGMA user_version = 7", "VACUUM"}) {
        INFO(write);
        const auto outcome = query_once(path, write);
        CHECK_FALSE(outcome.ok);
        CHECK(outcome.kind == db::error_kind::query);
        const bool clear = outcome.message.find("read-only") != std::string::npos ||
                           outcome.message.find("more than one statement") != std::string::npos;
        CHECK(clear);
    }
    CHECK(sqlite_scalar(path, "SELECT count(*) FROM t") == 2);
    CHECK(sqlite_scalar(path, "SELECT count(*) FROM t WHERE v = 'z'") == 0);
    CHECK(sqlite_scalar(path, "SELECT count(*) FROM sqlite_master") == 1);
    CHECK(sqlite_scalar(path, "PRAGMA user_version") == 0);
}

TEST_CASE("a query running past its deadline is interrupted as a timeout", "[sqlite]") {
    temp_dir dir;
    const auto path = (dir.path() / "t.db").string();
    sqlite_exec(path, "CREATE TABLE t(x);");
    const auto began = steady_clock::now();
    const auto outcome = query_once(
        path, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", {}, 200ms);
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.kind == db::error_kind::timeout);
    CHECK(outcome.message.find("timeout") != std::string::npos);
    // The unbounded query would never end: finishing at all proves the interrupt.
    CHECK(steady_clock::now() - began < 30s);
}

TEST_CASE("a missing or non-database file is reported as unavailable", "[sqlite]") {
    temp_dir dir;
    auto outcome = query_once((dir.path() / "missing.db").string(), "SELECT 1");
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.kind == db::error_kind::unavailable);
    CHECK(outcome.message.find("missing.db") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "missing.db"));  // read-only: never created

    const auto junk = dir.write("junk.db", std::string(4096, 'x'));
    outcome = query_once(junk, "SELECT 1");
    CHECK_FALSE(outcome.ok);
    CHECK(outcome.kind == db::error_kind::unavailable);
}

TEST_CASE("the pool never opens more than max_connections and waiters time out", "[sqlite]") {
    temp_dir dir;
    const auto path = (dir.path() / "t.db").string();
    sqlite_exec(path, "CREATE TABLE t(x);");
    asio::io_context loop;
    auto database = db::sqlite_database::create(loop.get_executor(), {"test", path, 1, 1s});
    auto work = [&]() -> asio::awaitable<std::string> {
        auto held = co_await database->open_session(steady_clock::now() + 1s);
        CHECK(database->stats().busy == 1);
        try {
            auto second = co_await database->open_session(steady_clock::now() + 100ms);
            co_return "second session granted";
        } catch (const db::error& e) {
            co_return e.what();
        }
    };
    const auto message = run_to_completion(loop, work());
    CHECK(message.find("no free connection") != std::string::npos);
    loop.restart();
    loop.run();
    CHECK(database->stats().busy == 0);
    CHECK(database->stats().idle == 1);
    database->close();
}
