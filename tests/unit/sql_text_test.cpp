#include <catch2/catch.hpp>

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

TEST_CASE("placeholders follow the driver's dialect", "[sql]") {
    CHECK(placeholder("sqlite", 3) == "?");
    CHECK(placeholder("postgres", 3) == "$3");
}
