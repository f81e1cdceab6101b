// The `sql` module on real SQLite files, through the same path the scheduler uses.
#include <catch2/catch.hpp>

#include "tests/support/loop.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd;
using namespace invariantd::test;

namespace {

std::string world(const temp_dir& dir) {
    const auto path = (dir.path() / "pos.db").string();
    sqlite_exec(path, R"(
CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER, bar TEXT, amount REAL);
INSERT INTO sales (server_id, bar, amount) VALUES
  (7, 'north', 12.5), (NULL, 'north', 8.0), (NULL, 'south', 4.0), (NULL, 'north', 6.0), (9, 'south', 3.0);
)");
    return path;
}

}  // namespace

TEST_CASE("scalar mode takes the first column of the single row", "[sql_module]") {
    temp_dir dir;
    const auto result = run_first_check(sqlite_config(
        world(dir), "  - { name: c, module: sql, database: db, params: { mode: scalar, query: "
                    "\"SELECT 100.0 * count(server_id) / count(*) FROM sales;\" } }\n"));
    REQUIRE(result.status == checks::run_status::ok);
    CHECK(result.output.value == Approx(40.0));
    CHECK(result.output.samples.empty());
}

TEST_CASE("scalar mode refuses anything but one numeric row", "[sql_module]") {
    temp_dir dir;
    const auto path = world(dir);
    struct row {
        const char* query;
        const char* message;
    };
    for (const auto& r : {row{"SELECT id FROM sales", "exactly one row, it returned 5"},
                          row{"SELECT id FROM sales WHERE 0", "exactly one row, it returned 0"},
                          row{"SELECT bar FROM sales LIMIT 1", "is not a number"},
                          row{"SELECT NULL", "is not a number"},
                          row{"SELECT * FROM no_such_table", "no such table: no_such_table"}}) {
        INFO(r.query);
        const auto result = run_first_check(sqlite_config(
            path, std::string("  - { name: c, module: sql, database: db, params: { mode: scalar, query: \"") + r.query +
                      "\" } }\n"));
        CHECK(result.status == checks::run_status::error);
        CHECK(result.error.find(r.message) != std::string::npos);
    }
}

TEST_CASE("rows mode counts rows, keeps the first max_samples in order and breaks down by column", "[sql_module]") {
    temp_dir dir;
    const auto result = run_first_check(sqlite_config(world(dir), R"(  - name: c
    module: sql
    database: db
    max_samples: 2
    params:
      group_column: bar
      query: |
        SELECT id, bar, amount FROM sales WHERE server_id IS NULL ORDER BY amount DESC
)"));
    REQUIRE(result.status == checks::run_status::ok);
    CHECK(result.output.value == 3);
    REQUIRE(result.output.samples.size() == 2);
    CHECK(result.output.samples[0]["id"] == 2);
    CHECK(result.output.samples[0]["amount"] == 8.0);
    CHECK(result.output.samples[1]["id"] == 4);
    // Column order of the query is kept for the on-call reader.
    CHECK(result.output.samples[0].begin().key() == "id");
    REQUIRE(result.output.breakdown.size() == 2);
    CHECK(result.output.breakdown[0].group == "north");
    CHECK(result.output.breakdown[0].value == 2);
    CHECK(result.output.breakdown[1].group == "south");
    CHECK(result.output.breakdown[1].value == 1);
}

TEST_CASE("a check that tries to write fails and leaves the data untouched", "[sql_module][safety]") {
    temp_dir dir;
    const auto path = world(dir);
    const auto result = run_first_check(
        sqlite_config(path, "  - { name: c, module: sql, database: db, params: { query: \"DELETE FROM sales\" } }\n"));
    CHECK(result.status == checks::run_status::error);
    CHECK(result.error.find("read-only") != std::string::npos);
    CHECK(sqlite_scalar(path, "SELECT count(*) FROM sales") == 5);
}

TEST_CASE("a check on a database that is not there is an error result, not an exception", "[sql_module]") {
    temp_dir dir;
    const auto result = run_first_check(sqlite_config(
        (dir.path() / "gone.db").string(), "  - { name: c, module: sql, database: db, params: { query: \"SELECT 1\" } }\n"));
    CHECK(result.status == checks::run_status::error);
    CHECK(result.database_unavailable);
    CHECK(result.error.find("gone.db") != std::string::npos);
}
