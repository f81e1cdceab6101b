#include <catch2/catch.hpp>

#include "checks/dialect.hpp"
#include "checks/sql_text.hpp"

using namespace invariantd::checks;

TEST_CASE("identifiers are quoted part by part", "[sql]") {
    CHECK(quote_identifier("racks") == "\"racks\"");
    CHECK(quote_identifier("audit.racks") == "\"audit\".\"racks\"");
    CHECK(quote_identifier("we\"ird") == "\"we\"\"ird\"");
    CHECK(quote_identifier("x\"; DROP TABLE y; --") == "\"x\"\"; DROP TABLE y; --\"");
}

TEST_CASE("statement ends are stripped so a query can be wrapped", "[sql]") {
    CHECK(strip_statement_end("select 1;  \n") == "select 1");
    CHECK(strip_statement_end("select 1;;") == "select 1");
    CHECK(strip_statement_end("select ';'") == "select ';'");
}

TEST_CASE("placeholders are numbered in both dialects", "[sql]") {
    using invariantd::db::driver_kind;
    CHECK(dialect_of(driver_kind::sqlite).placeholder(3) == "?3");
    CHECK(dialect_of(driver_kind::postgres).placeholder(3) == "$3");
    bound_values values(dialect_of(driver_kind::sqlite));
    CHECK(values.bind(std::int64_t{10}) == "?1");
    CHECK(values.bind(std::string("x")) == "?2");
    CHECK(values.take().size() == 2);
}

TEST_CASE("each dialect writes its own time arithmetic, aggregation and matching", "[sql]") {
    using invariantd::db::driver_kind;
    const auto& postgres = dialect_of(driver_kind::postgres);
    const auto& sqlite = dialect_of(driver_kind::sqlite);
    bound_values pg_values(postgres);
    CHECK(postgres.within_last("\"t\"", pg_values, 60) == "\"t\" > now() - CAST($1 AS interval)");
    bound_values lite_values(sqlite);
    CHECK(sqlite.older_than("\"t\"", lite_values, 60).find("< ((julianday('now') - 2440587.5) * 86400.0) - ?1") !=
          std::string::npos);
    CHECK(postgres.string_agg("id") == "string_agg(CAST(id AS text), ',' ORDER BY id)");
    CHECK(sqlite.string_agg("id") == "group_concat(id, ',')");
    CHECK(postgres.contains("name", "$1") == "strpos(lower(name), lower($1)) > 0");
    CHECK(sqlite.contains("name", "?1") == "instr(lower(name), lower(?1)) > 0");
}
