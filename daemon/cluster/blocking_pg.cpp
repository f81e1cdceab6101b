#include "daemon/cluster/blocking_pg.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

namespace invariantd::cluster {

namespace {

std::string trimmed(const char* message) {
    std::string text = message == nullptr ? "" : message;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

}  // namespace

const std::string& pg_rows::at(std::size_t row, std::size_t column) const {
    static const std::string null_text;
    const auto& cell = rows.at(row).at(column);
    return cell ? *cell : null_text;
}

blocking_pg::blocking_pg(std::string dsn, std::string application_name, std::chrono::milliseconds timeout)
    : dsn_(std::move(dsn)), application_name_(std::move(application_name)), timeout_(timeout) {}

blocking_pg::~blocking_pg() {
    disconnect();
}

void blocking_pg::disconnect() {
    if (connection_ != nullptr) PQfinish(connection_);
    connection_ = nullptr;
}

void blocking_pg::ensure_connected() {
    if (connection_ != nullptr && PQstatus(connection_) == CONNECTION_OK) return;
    disconnect();
    // application_name and the timeouts come after the expanded DSN, so they win over it.
    const auto seconds = std::to_string(std::max<long long>(2, timeout_.count() / 1000));
    const auto options = fmt::format(
        "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={} -c "
        "client_min_messages=warning",
        timeout_.count(), timeout_.count(), timeout_.count() * 4);
    const char* keywords[] = {"dbname", "application_name", "connect_timeout", "options", nullptr};
    const char* values[] = {dsn_.c_str(), application_name_.c_str(), seconds.c_str(), options.c_str(),
                            nullptr};
    connection_ = PQconnectdbParams(keywords, values, 1);
    if (connection_ == nullptr) throw pg_failure("libpq could not allocate a connection");
    if (PQstatus(connection_) != CONNECTION_OK) {
        pg_failure failure(fmt::format("cannot connect to the coordination database: {}",
                                       trimmed(PQerrorMessage(connection_))));
        disconnect();
        throw failure;
    }
}

pg_rows blocking_pg::exec(const std::string& sql, const pg_params& params) {
    ensure_connected();
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* result = PQexecParams(connection_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                    values.data(), nullptr, nullptr, 0);
    const auto status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char* primary =
            result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        pg_failure failure(trimmed(primary != nullptr ? primary : PQerrorMessage(connection_)));
        if (result != nullptr) {
            const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
            if (state != nullptr) failure.sqlstate = state;
            PQclear(result);
        }
        if (PQstatus(connection_) != CONNECTION_OK) disconnect();
        throw failure;
    }
    pg_rows rows;
    const int count = PQntuples(result);
    const int columns = PQnfields(result);
    rows.rows.reserve(static_cast<std::size_t>(count));
    for (int r = 0; r < count; ++r) {
        auto& row = rows.rows.emplace_back();
        row.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) {
            if (PQgetisnull(result, r, c))
                row.emplace_back(std::nullopt);
            else
                row.emplace_back(std::string(PQgetvalue(result, r, c),
                                             static_cast<std::size_t>(PQgetlength(result, r, c))));
        }
    }
    const char* affected = PQcmdTuples(result);
    if (affected != nullptr && *affected != '\0') rows.affected = std::stoull(affected);
    PQclear(result);
    return rows;
}

void blocking_pg::exec_script(const std::string& sql) {
    ensure_connected();
    PGresult* result = PQexec(connection_, sql.c_str());
    const auto status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        const char* primary =
            result == nullptr ? nullptr : PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
        pg_failure failure(trimmed(primary != nullptr ? primary : PQerrorMessage(connection_)));
        if (result != nullptr) PQclear(result);
        if (PQstatus(connection_) != CONNECTION_OK) disconnect();
        throw failure;
    }
    PQclear(result);
}

}  // namespace invariantd::cluster
