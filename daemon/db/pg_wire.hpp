#pragma once
/// The non-blocking libpq wire layer both PostgreSQL users share: the check driver
/// (postgres_database, read-only sessions of a monitored database) and the coordination
/// client of cluster mode (pg_client, read-write). libpq runs in non-blocking mode on the
/// loop and is woken by async_wait on PQsocket; only what libpq cannot do without blocking
/// (PQconnectStart resolving a host name, PQcancel, PQfinish) runs on a small worker pool.
/// Loop thread only.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/db/database.hpp"

struct pg_conn;

namespace invariantd::db {

/// One libpq connection and the Asio descriptor that watches its socket. The descriptor
/// is released (not closed) on the loop, because the socket belongs to libpq; PQfinish, which
/// sends the server a Terminate message and may block on a full socket, runs on `blocking`.
class pg_connection {
public:
    pg_connection(asio::any_io_executor loop, asio::any_io_executor blocking, pg_conn* connection, std::string name);
    ~pg_connection();
    pg_connection(const pg_connection&) = delete;
    pg_connection& operator=(const pg_connection&) = delete;

    pg_conn* get() const { return connection_; }
    steady_clock::time_point created() const { return created_; }
    /// The database's name in messages (never the DSN).
    const std::string& name() const { return name_; }
    asio::any_io_executor blocking() const { return blocking_; }
    bool broken = false;  ///< state unknown after a timeout or I/O error: never reuse
    /// Past a statement's deadline, send the server a cancel request (cancel_on_server). Off
    /// for the coordination client, which drops the connection instead and lets the server
    /// end the statement (client_connection_check_interval): it must not wait even
    /// cancel_wait for a cancel that cannot arrive.
    bool cancel_on_timeout = true;

    /// libpq may switch sockets while connecting (several hosts or addresses, or sslmode=prefer
    /// retrying without TLS): re-register it on every step. Comparing descriptor numbers is not
    /// enough — the new socket often gets the number of the one libpq just closed, which the
    /// reactor has already forgotten, and a wait on it would never wake.
    void refresh_socket();
    /// Waits until the socket is ready for `type` or `deadline` passes (false).
    asio::awaitable<bool> wait(asio::posix::descriptor_base::wait_type type, steady_clock::time_point deadline);
    /// Sends a cancel request for the running statement: the blocking PQcancel on a detached
    /// thread of its own, waited for at most `cancel_wait` (past it, it finishes alone), so a
    /// silent network holds neither the loop nor the database's blocking worker thread.
    asio::awaitable<void> cancel_on_server();
    static constexpr duration cancel_wait = std::chrono::seconds(5);

private:
    pg_conn* connection_;
    asio::posix::stream_descriptor descriptor_;
    asio::any_io_executor blocking_;
    std::string name_;
    steady_clock::time_point created_;
};

/// libpq's connection keywords and values (the DSN expanded as `dbname`, later keywords win).
struct pg_connect_params {
    std::vector<std::string> keywords;
    std::vector<std::string> values;
};

/// Connects without blocking the loop (PQconnectStartParams on `blocking`, then
/// PQconnectPoll woken by the socket) within `deadline`; throws error(unavailable) with
/// libpq's message (never the DSN) or "connection attempt timed out after <timeout>".
asio::awaitable<std::unique_ptr<pg_connection>> pg_connect(asio::any_io_executor loop, asio::any_io_executor blocking,
                                                           std::string name, pg_connect_params params,
                                                           steady_clock::time_point deadline, duration timeout);

/// Runs one statement (or, with `simple`, a semicolon-separated script through the simple
/// protocol) and drains every result. In the extended protocol only one statement is
/// accepted, so "SELECT 1; DELETE ..." cannot ride along in a check query. Past `deadline`
/// (plus a second, so the server's own statement_timeout normally wins) the statement is
/// cancelled on the server and the connection marked broken.
asio::awaitable<rowset> pg_execute(pg_connection& connection, const std::string& sql, const std::vector<value>& params,
                                   std::size_t max_rows, bool simple, steady_clock::time_point deadline);

/// One statement of a pipeline: its text, parameters and how many rows to keep.
struct pipeline_step {
    std::string sql;
    std::vector<value> params;
    std::size_t max_rows = 0;
};

/// Sends every step and a Sync in one write (libpq pipeline mode, extended protocol, unnamed
/// statements only: PgBouncer in transaction mode passes it through) and reads every result:
/// one network round trip for all of them. Returns the rows of step `rows_of`. After an error
/// the server skips the remaining steps up to the Sync (libpq reports them aborted); the
/// first error is thrown once the pipeline is drained, so the connection stays usable.
asio::awaitable<rowset> pg_execute_pipeline(pg_connection& connection, const std::vector<pipeline_step>& steps,
                                            steady_clock::time_point deadline, std::size_t rows_of);

/// A non-NULL cell in libpq's text form as a value, by its type's OID: int2/4/8 and oid as
/// integers, float4/8 and numeric as reals, bool as "true"/"false", anything else as text
/// with invalid UTF-8 (possible in a SQL_ASCII database) replaced by U+FFFD.
value postgres_text_value(unsigned type_oid, std::string_view text);

/// libpq's message with line breaks folded and every known secret redacted.
std::string pg_clean_message(const char* message);

}  // namespace invariantd::db
