#include "daemon/db/pg_wire.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <memory>
#include <system_error>
#include <thread>
#include <optional>
#include <utility>

#include "daemon/common/secrets.hpp"
#include "daemon/common/utf8.hpp"
#include "daemon/db/libpq_loader.hpp"
#include "daemon/db/run_blocking.hpp"

namespace invariantd::db {

using wait_type = asio::posix::descriptor_base::wait_type;

pg_connection::pg_connection(asio::any_io_executor loop, asio::any_io_executor blocking, pg_conn* connection,
                             std::string name)
    : connection_(connection),
      descriptor_(loop),
      blocking_(std::move(blocking)),
      name_(std::move(name)),
      created_(steady_clock::now()) {}

pg_connection::~pg_connection() {
    if (descriptor_.is_open()) descriptor_.release();
    asio::post(blocking_, [connection = connection_]() { PQfinish(connection); });
}

void pg_connection::refresh_socket() {
    if (descriptor_.is_open()) descriptor_.release();
    const int fd = PQsocket(connection_);
    if (fd >= 0) descriptor_.assign(fd);
}

namespace {

/// Waits until `descriptor` is ready for `type` or `deadline` passes (false).
asio::awaitable<bool> wait_ready(asio::posix::stream_descriptor& descriptor, wait_type type,
                                 steady_clock::time_point deadline) {
    auto done = std::make_shared<bool>(false);
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer timer(descriptor.get_executor(), deadline);
    // The timer cancels the wait; `done` makes a timer handler that runs after the wait
    // already finished a no-op, so it never touches a descriptor that moved on (or is gone
    // with the caller's frame).
    timer.async_wait([done, timed_out, pointer = &descriptor](boost::system::error_code ec) {
        if (ec || *done) return;
        *timed_out = true;
        boost::system::error_code ignored;
        pointer->cancel(ignored);
    });
    boost::system::error_code ec;
    co_await descriptor.async_wait(type, asio::redirect_error(asio::use_awaitable, ec));
    *done = true;
    timer.cancel();
    co_return !*timed_out;
}

}  // namespace

asio::awaitable<bool> pg_connection::wait(wait_type type, steady_clock::time_point deadline) {
    if (!descriptor_.is_open()) co_return true;  // let libpq report the broken connection
    const bool ready = co_await wait_ready(descriptor_, type, deadline);
    co_return ready;
}

asio::awaitable<void> pg_connection::cancel_on_server() {
    PGcancel* cancel = PQgetCancel(connection_);
    if (cancel == nullptr) co_return;
    // PQcancel opens a connection of its own and waits for the server to close it, with no
    // timeout: on a silent network it waits as long as the kernel does — for ever behind a
    // proxy that accepts and forwards nothing. So it runs on a thread of its own, which is
    // detached: the run waits at most cancel_wait for it and then leaves it to finish alone.
    // All the thread shares with this coroutine is a socket pair; once this end is closed its
    // one-byte report fails quietly (MSG_NOSIGNAL).
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) {
        PQfreeCancel(cancel);
        spdlog::warn("database '{}': cancel request not sent (no socket pair)", name_);
        co_return;
    }
    asio::posix::stream_descriptor report(descriptor_.get_executor(), ends[0]);
    try {
        std::thread([cancel, signal = ends[1]] {
            char message[256] = {};
            const char sent = PQcancel(cancel, message, sizeof message) != 0 ? 1 : 0;
            PQfreeCancel(cancel);
            [[maybe_unused]] const auto written = ::send(signal, &sent, 1, MSG_NOSIGNAL);
            ::close(signal);
        }).detach();
    } catch (const std::system_error&) {
        PQfreeCancel(cancel);
        ::close(ends[1]);
        spdlog::warn("database '{}': cancel request not sent (no thread)", name_);
        co_return;
    }
    const auto limit = steady_clock::now() + cancel_wait;
    const bool reported = co_await wait_ready(report, wait_type::wait_read, limit);
    if (!reported) {
        spdlog::warn("database '{}': the cancel request got no answer within {}; left to finish on its own", name_,
                     format_duration(cancel_wait));
        co_return;
    }
    char sent = 0;
    boost::system::error_code ec;
    report.non_blocking(true, ec);  // never wait here, whatever woke the wait above
    if (!ec) report.read_some(asio::buffer(&sent, 1), ec);
    if (ec || sent == 0) spdlog::warn("database '{}': cancel request could not be sent", name_);
}

value postgres_text_value(unsigned type_oid, std::string_view text) {
    // Numbers parse in place (this runs for every cell); only what from_chars refuses — an
    // out-of-range integer, which strtoll clamps — goes through a NUL-terminated copy.
    const char* first = text.data();
    const char* last = text.data() + text.size();
    switch (type_oid) {
        case 20:  // int8
        case 21:  // int2
        case 23:  // int4
        case 26: {  // oid
            std::int64_t number = 0;
            if (std::from_chars(first, last, number).ec == std::errc()) return number;
            return static_cast<std::int64_t>(std::strtoll(std::string(text).c_str(), nullptr, 10));
        }
        case 700:   // float4
        case 701:   // float8
        case 1700: {  // numeric ('NaN', 'Infinity' included)
            double number = 0;
            if (std::from_chars(first, last, number).ec == std::errc()) return number;
            return std::strtod(std::string(text).c_str(), nullptr);
        }
        case 16:  // bool
            return std::string(!text.empty() && text[0] == 't' ? "true" : "false");
        default:
            // Valid in a UTF8 database; a SQL_ASCII one may hold any bytes.
            return valid_utf8(text);
    }
}

namespace {

std::string clean(const char* message) {
    std::string text = message != nullptr ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (auto& c : text) {
        if (c == '\n') c = ' ';
    }
    return secret_registry::global().redact(text);
}

/// Maps a failed result onto the error kinds by SQLSTATE.
error failure_of(PGresult* result, pg_conn* connection) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    const std::string sqlstate = state != nullptr ? state : "";
    std::string message = clean(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
    if (message.empty()) message = clean(PQerrorMessage(connection));
    if (sqlstate == "57014")
        return {error_kind::timeout,
                "query exceeded the check timeout and was cancelled by the server (" + message + ")"};
    if (sqlstate == "55P03") return {error_kind::timeout, "could not get a lock in time (" + message + ")"};
    if (sqlstate == "25006")
        return {error_kind::query,
                message +
                    " (the check tried to write; invariantd runs every check in a READ ONLY "
                    "transaction and nothing was written)"};
    if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("28", 0) == 0 || sqlstate == "57P01" ||
        sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "53300" || sqlstate == "3D000" ||
        PQstatus(connection) == CONNECTION_BAD)
        return {error_kind::unavailable, message};
    return {error_kind::query, sqlstate.empty() ? message : message + " [SQLSTATE " + sqlstate + "]"};
}

struct result_guard {
    PGresult* result;
    ~result_guard() { PQclear(result); }
};

value cell(PGresult* result, int row, int column) {
    if (PQgetisnull(result, row, column)) return nullptr;
    return postgres_text_value(PQftype(result, column),
                               {PQgetvalue(result, row, column), static_cast<std::size_t>(PQgetlength(result, row, column))});
}

/// Sends what libpq buffered; waits for writability while the socket is full. Input is
/// consumed on every round so a server that talks while we send cannot deadlock us.
asio::awaitable<void> flush(pg_connection& connection, steady_clock::time_point deadline) {
    while (true) {
        const int rc = PQflush(connection.get());
        if (rc == 0) co_return;
        if (rc < 0) {
            connection.broken = true;
            throw error(error_kind::unavailable, clean(PQerrorMessage(connection.get())));
        }
        if (!co_await connection.wait(
                wait_type::wait_write,
                std::min(deadline, steady_clock::now() + std::chrono::milliseconds(50)))) {
            if (steady_clock::now() >= deadline) {
                connection.broken = true;
                throw error(error_kind::timeout, "timed out sending the query");
            }
        }
        if (PQconsumeInput(connection.get()) == 0) {
            connection.broken = true;
            throw error(error_kind::unavailable, clean(PQerrorMessage(connection.get())));
        }
    }
}

}  // namespace

namespace {

/// Waits until libpq can hand out the next result without blocking. The server enforces
/// statement_timeout itself; the client waits a second longer so the server's own, clean
/// cancellation normally wins, and cancels only if the server is stuck.
asio::awaitable<void> await_result(pg_connection& connection,
                                   steady_clock::time_point deadline) {
    pg_conn* raw = connection.get();
    const auto client_deadline = deadline + std::chrono::seconds(1);
    while (PQisBusy(raw) != 0) {
        if (!co_await connection.wait(wait_type::wait_read, client_deadline)) {
            connection.broken = true;
            if (!connection.cancel_on_timeout)
                throw error(error_kind::timeout, "no answer before the deadline; the connection is dropped");
            co_await connection.cancel_on_server();
            throw error(error_kind::timeout, "query exceeded the check timeout; cancelled on the server");
        }
        if (PQconsumeInput(raw) == 0) {
            connection.broken = true;
            throw error(error_kind::unavailable, clean(PQerrorMessage(raw)));
        }
    }
}

/// Adds the rows of one (single-row or whole) result to `out`, keeping at most `max_rows`.
void take_rows(PGresult* result, rowset& out, std::size_t max_rows) {
    const int columns = PQnfields(result);
    if (out.columns.empty()) {
        for (int c = 0; c < columns; ++c) out.columns.push_back(valid_utf8(PQfname(result, c)));
    }
    for (int r = 0; r < PQntuples(result); ++r) {
        if (!out.admit_row(max_rows)) continue;
        std::vector<value> row;
        row.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) row.push_back(cell(result, r, c));
        out.rows.push_back(std::move(row));
    }
}

/// Parameters as libpq wants them: text, NULL as a null pointer.
struct bound_params {
    std::vector<std::string> texts;
    std::vector<const char*> values;
    explicit bound_params(const std::vector<value>& params) {
        texts.reserve(params.size());
        for (const auto& param : params) texts.push_back(to_string(param));
        for (std::size_t i = 0; i < params.size(); ++i)
            values.push_back(std::holds_alternative<std::nullptr_t>(params[i]) ? nullptr : texts[i].c_str());
    }
};

[[noreturn]] void throw_send_failure(pg_connection& connection) {
    connection.broken = PQstatus(connection.get()) == CONNECTION_BAD;
    throw error(connection.broken ? error_kind::unavailable : error_kind::query,
                clean(PQerrorMessage(connection.get())));
}

}  // namespace

/// Runs one statement (or, with `simple`, a semicolon-separated script through the simple
/// protocol) and drains every result. In the extended protocol only one statement is
/// accepted, so "SELECT 1; DELETE ..." cannot ride along in a check query.
asio::awaitable<rowset> pg_execute(pg_connection& connection, const std::string& sql, const std::vector<value>& params,
                                   std::size_t max_rows, bool simple, steady_clock::time_point deadline) {
    pg_conn* raw = connection.get();
    const bound_params bound(params);
    const int sent = simple ? PQsendQuery(raw, sql.c_str())
                            : PQsendQueryParams(raw, sql.c_str(), static_cast<int>(bound.values.size()), nullptr,
                                                bound.values.data(), nullptr, nullptr, 0);
    if (sent == 0) throw_send_failure(connection);
    // One row at a time: a query returning millions of rows never sits in memory whole.
    if (!simple) PQsetSingleRowMode(raw);
    co_await flush(connection, deadline);

    rowset out;
    std::optional<error> failure;
    while (true) {
        co_await await_result(connection, deadline);
        PGresult* result = PQgetResult(raw);
        if (result == nullptr) break;
        result_guard guard{result};
        const auto status = PQresultStatus(result);
        if (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK) {
            take_rows(result, out, max_rows);
        } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY && !failure) {
            failure = failure_of(result, raw);
        }
    }
    if (PQstatus(raw) == CONNECTION_BAD) {
        connection.broken = true;
        if (!failure) failure = error(error_kind::unavailable, clean(PQerrorMessage(raw)));
    }
    if (failure) throw *failure;
    co_return out;
}


/// Sends every step and a Sync in one write (libpq pipeline mode, extended protocol, unnamed
/// statements only: PgBouncer in transaction mode passes it through) and reads every result:
/// one network round trip for all of them. Returns the rows of step `rows_of`. After an error
/// the server skips the remaining steps up to the Sync (libpq reports them aborted); the
/// first error is thrown once the pipeline is drained, so the connection stays usable.
asio::awaitable<rowset> pg_execute_pipeline(pg_connection& connection, const std::vector<pipeline_step>& steps,
                                            steady_clock::time_point deadline, std::size_t rows_of) {
    pg_conn* raw = connection.get();
    if (PQenterPipelineMode(raw) == 0) throw_send_failure(connection);
    for (const auto& step : steps) {
        const bound_params bound(step.params);
        if (PQsendQueryParams(raw, step.sql.c_str(), static_cast<int>(bound.values.size()), nullptr,
                              bound.values.data(), nullptr, nullptr, 0) == 0)
            throw_send_failure(connection);
    }
    if (PQpipelineSync(raw) == 0) throw_send_failure(connection);
    co_await flush(connection, deadline);

    rowset out;
    std::optional<error> failure;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const bool kept = i == rows_of;
        // Row by row for the statement whose rows are kept (set per query in a pipeline).
        if (kept) PQsetSingleRowMode(raw);
        while (true) {
            co_await await_result(connection, deadline);
            PGresult* result = PQgetResult(raw);
            if (result == nullptr) break;  // this step's results are done
            result_guard guard{result};
            const auto status = PQresultStatus(result);
            if (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK) {
                if (kept) take_rows(result, out, steps[i].max_rows);
            } else if (status == PGRES_FATAL_ERROR && !failure) {
                failure = failure_of(result, raw);
            }
        }
        if (PQstatus(raw) == CONNECTION_BAD) break;
    }
    if (PQstatus(raw) != CONNECTION_BAD) {
        co_await await_result(connection, deadline);
        PGresult* sync = PQgetResult(raw);
        const bool synced = sync != nullptr && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
        PQclear(sync);
        if (!synced || PQexitPipelineMode(raw) == 0) connection.broken = true;
    }
    if (PQstatus(raw) == CONNECTION_BAD) {
        connection.broken = true;
        if (!failure) failure = error(error_kind::unavailable, clean(PQerrorMessage(raw)));
    }
    if (failure) throw *failure;
    co_return out;
}


std::string pg_clean_message(const char* message) {
    return clean(message);
}

asio::awaitable<std::unique_ptr<pg_connection>> pg_connect(asio::any_io_executor loop, asio::any_io_executor blocking,
                                                           std::string name, pg_connect_params params,
                                                           steady_clock::time_point deadline, duration timeout) {
    // PQconnectStartParams may resolve the host name: off the loop.
    auto start = [params = std::move(params)]() -> PGconn* {
        if (!libpq_load_problem().empty()) return nullptr;  // dlopen on the first connection
        std::vector<const char*> keywords;
        std::vector<const char*> values;
        for (std::size_t i = 0; i < params.keywords.size(); ++i) {
            keywords.push_back(params.keywords[i].c_str());
            values.push_back(params.values[i].c_str());
        }
        keywords.push_back(nullptr);
        values.push_back(nullptr);
        return PQconnectStartParams(keywords.data(), values.data(), 1);
    };
    PGconn* raw = co_await run_blocking(blocking, std::move(start));
    if (raw == nullptr)
        throw error(error_kind::unavailable,
                    libpq_load_problem().empty() ? "libpq could not allocate a connection" : libpq_load_problem());
    auto connection = std::make_unique<pg_connection>(loop, blocking, raw, std::move(name));
    PostgresPollingStatusType polling =
        PQstatus(raw) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK) {
        if (polling == PGRES_POLLING_FAILED) throw error(error_kind::unavailable, clean(PQerrorMessage(raw)));
        connection->refresh_socket();
        const bool ready = co_await connection->wait(
            polling == PGRES_POLLING_READING ? wait_type::wait_read : wait_type::wait_write, deadline);
        if (!ready)
            throw error(error_kind::unavailable,
                        fmt::format("connection attempt timed out after {}", format_duration(timeout)));
        polling = PQconnectPoll(raw);
    }
    connection->refresh_socket();
    if (PQsetnonblocking(raw, 1) != 0) throw error(error_kind::unavailable, clean(PQerrorMessage(raw)));
    co_return connection;
}

}  // namespace invariantd::db
