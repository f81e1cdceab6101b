#pragma once
/// One read-write PostgreSQL connection on the event loop, for the coordination database of
/// cluster mode (SPEC §12) — never for a monitored database, which only ever gets the
/// read-only sessions of postgres_database. It is the same non-blocking libpq wire layer
/// (pg_wire): nothing waits on the loop, and a statement that outlives its deadline (plus a
/// second) fails and its connection is dropped, so a hung coordination database or a silent
/// network holds no thread and no caller; the server ends the dropped client's statement
/// (`client_connection_check_interval=1s`, or its statement_timeout). Server-side timeouts are
/// set at connect (`options=-c statement_timeout=…`);
/// `application_name` names the member.
///
/// Statements run one at a time, in the order called (a caller waits for the one before it,
/// up to its deadline). A transaction (BEGIN … COMMIT through exec) belongs to whoever runs
/// it: the shared state store, whose calls the outbox writer already serialises. The
/// connection is opened on first use and again after it broke. Loop thread only.
#include <memory>
#include <string>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/db/async_semaphore.hpp"
#include "daemon/db/database.hpp"

namespace invariantd::db {

class pg_connection;

struct pg_client_options {
    std::string name;  ///< for messages, e.g. "the coordination database"
    std::string dsn;   ///< secret, never logged
    std::string application_name;
    duration connect_timeout{5000};
    duration statement_timeout{5000};  ///< server side; also the lock and idle-in-transaction bound
};

/// The first cell of a row as text/number, for the coordination code's fixed statements.
std::string text_of(const value& cell);
std::int64_t integer_of(const value& cell);
double real_of(const value& cell);

class pg_client {
public:
    pg_client(asio::any_io_executor loop, pg_client_options options);
    ~pg_client();
    pg_client(const pg_client&) = delete;
    pg_client& operator=(const pg_client&) = delete;

    /// One statement with bound parameters ($1…), within `deadline`. Autocommit unless inside
    /// begin()…commit(). Throws db::error (kind unavailable when the database cannot be
    /// reached; the message names `options.name`, never the DSN).
    asio::awaitable<rowset> exec(std::string sql, std::vector<value> params, steady_clock::time_point deadline);
    /// Several statements, no parameters, through the simple protocol (DDL scripts).
    asio::awaitable<void> exec_script(std::string sql, steady_clock::time_point deadline);
    /// Ends a transaction that failed: ROLLBACK, or drops the connection (the server then
    /// ends the transaction with the session). Never throws.
    asio::awaitable<void> rollback();
    /// Closes the connection (the next call opens a new one).
    void disconnect();

private:
    asio::awaitable<void> ensure_connected(steady_clock::time_point deadline);
    /// exec() and exec_script(): one statement (extended protocol) or a script (simple).
    asio::awaitable<rowset> run(std::string sql, std::vector<value> params, bool simple,
                                steady_clock::time_point deadline);
    /// Waits for this caller's turn on the connection; throws error(timeout) at `deadline`.
    asio::awaitable<void> take_turn(steady_clock::time_point deadline);

    asio::any_io_executor loop_;
    pg_client_options options_;
    asio::thread_pool blocking_{1};  ///< PQconnectStart, PQcancel, PQfinish
    std::unique_ptr<pg_connection> connection_;  ///< after blocking_: its PQfinish goes there
    async_semaphore turn_;
};

}  // namespace invariantd::db
