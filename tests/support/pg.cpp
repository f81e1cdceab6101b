#include "tests/support/pg.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace invariantd::test {
namespace {

std::unique_ptr<PGconn, decltype(&PQfinish)> connect(const std::string& dsn) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> connection(PQconnectdb(dsn.c_str()), &PQfinish);
    if (PQstatus(connection.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("test fixture cannot connect: ") + PQerrorMessage(connection.get()));
    // Fixture SQL such as DROP TABLE IF EXISTS raises NOTICEs nobody needs in the test output.
    PQsetNoticeProcessor(connection.get(), [](void*, const char*) {}, nullptr);
    return connection;
}

}  // namespace

std::string pg_setting(const std::string& variable) {
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || *value == '\0')
        throw std::runtime_error(variable + " is not set: run the PostgreSQL tests through ./tests/run.sh, "
                                 "which starts a throwaway PostgreSQL 15 cluster");
    return value;
}

std::string pg_dsn(bool second_database) {
    return pg_setting(second_database ? "INVARIANTD_TEST_PG_DSN2" : "INVARIANTD_TEST_PG_DSN");
}

std::string pg_port() { return pg_setting("INVARIANTD_TEST_PG_PORT"); }
std::string pg_password() { return pg_setting("INVARIANTD_TEST_PG_PASSWORD"); }
std::string pgbouncer_dsn() { return pg_setting("INVARIANTD_TEST_PGBOUNCER_DSN"); }

std::string pg_fresh_database(const std::string& name) {
    const auto dsn = pg_dsn();
    pg_exec(dsn, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    pg_exec(dsn, "CREATE DATABASE " + name);
    const auto at = dsn.find("dbname=invariantd_test");
    if (at == std::string::npos) throw std::runtime_error("unexpected test DSN layout");
    return dsn.substr(0, at) + "dbname=" + name + dsn.substr(at + std::string("dbname=invariantd_test").size());
}

void pg_exec(const std::string& dsn, const std::string& sql) {
    auto connection = connect(dsn);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()), &PQclear);
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error(std::string("pg_exec: ") + PQerrorMessage(connection.get()));
}

std::vector<std::string> pg_column(const std::string& dsn, const std::string& sql) {
    auto connection = connect(dsn);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(connection.get(), sql.c_str()), &PQclear);
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK)
        throw std::runtime_error(std::string("pg_column: ") + PQerrorMessage(connection.get()));
    std::vector<std::string> values;
    for (int row = 0; row < PQntuples(result.get()); ++row) values.emplace_back(PQgetvalue(result.get(), row, 0));
    return values;
}

long long pg_scalar(const std::string& dsn, const std::string& sql) {
    const auto values = pg_column(dsn, sql);
    if (values.size() != 1) throw std::runtime_error("pg_scalar: expected one row from " + sql);
    return std::stoll(values[0]);
}

void pg_ctl(const std::string& action) {
    const char* ctl = std::getenv("INVARIANTD_TEST_PG_CTL");
    if (ctl == nullptr) throw std::runtime_error("INVARIANTD_TEST_PG_CTL is not set: run through ./tests/run.sh");
    const std::string command = std::string(ctl) + " " + action + " >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("pg_ctl " + action + " failed");
}

}  // namespace invariantd::test
