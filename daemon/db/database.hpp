#pragma once
/// The driver boundary: what a check module may ask of a monitored database.
///
/// A check borrows a `session` (one connection, one read-only transaction) from a
/// `database`, runs a few set-based queries on it and gives it back by destroying it.
/// All functions are called on the event loop thread; drivers move blocking work off it.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd::db {

/// One cell: NULL, integer, real or text. Drivers map their types onto these four.
using value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

/// Renders a value for humans and JSON-less contexts ("NULL" for null).
std::string to_string(const value& v);

/// A value as a number when it is one (integers, reals, numeric text); nullopt otherwise.
std::optional<double> to_number(const value& v);

/// Result of one query: column names and at most `max_rows` rows.
struct rowset {
    std::vector<std::string> columns;
    std::vector<std::vector<value>> rows;
    std::size_t row_count = 0;  ///< rows the statement returned, kept or not
    bool truncated = false;     ///< more rows existed than were kept

    /// Counts one more row the statement returned; true when it is to be kept (fewer than
    /// `max_rows` kept so far), else marks the rowset truncated.
    bool admit_row(std::size_t max_rows) {
        ++row_count;
        if (rows.size() < max_rows) return true;
        truncated = true;
        return false;
    }
};

/// Why a database operation failed; the scheduler maps it onto a run outcome.
enum class error_kind {
    query,        ///< the statement failed (syntax, missing table, write refused): the check is wrong
    timeout,      ///< the check's deadline passed; the statement was interrupted
    unavailable,  ///< the database could not be reached or opened: the database is down
};

/// Thrown by drivers; the message never contains a secret (drivers pass it through the
/// secret registry) and is meant for the on-call engineer.
class error : public std::runtime_error {
public:
    error(error_kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    error_kind kind() const noexcept { return kind_; }

private:
    error_kind kind_;
};

/// A borrowed connection inside one read-only transaction. Destroying it ends the
/// transaction and returns the connection to its pool. Not copyable; loop thread only.
class session {
public:
    virtual ~session() = default;
    /// Runs `sql` with positional parameters bound (never pasted into the text). `?` is the
    /// placeholder on SQLite, `$1..$n` on PostgreSQL: modules build SQL through a dialect.
    virtual asio::awaitable<rowset> query(std::string sql, std::vector<value> params,
                                          std::size_t max_rows) = 0;
    /// Says the next query is the session's last, so a driver may end the transaction in the
    /// same round trip (PostgreSQL pipelines ROLLBACK behind it). A query after it still
    /// works — in a transaction of its own.
    virtual void last_query_next() {}
    /// From now on, before a statement is sent, asks the planner for its estimated cost
    /// (within the same transaction; an estimate is trusted for `recheck` per statement
    /// text) and refuses it with "estimated cost N exceeds max_cost M" above `max_cost`.
    /// PostgreSQL only: configuration refuses max_cost on SQLite.
    virtual void limit_cost(double /*max_cost*/, duration /*recheck*/) {}
    /// The planner's `EXPLAIN (FORMAT JSON)` of a statement, nothing run; nullopt for a
    /// driver without cost estimates (SQLite).
    virtual asio::awaitable<std::optional<std::string>> plan(std::string /*sql*/, std::vector<value> /*params*/) {
        co_return std::nullopt;
    }
};

/// The database engines invariantd speaks to; parsed once from the configuration.
enum class driver_kind { sqlite, postgres };
inline const char* to_string(driver_kind driver) { return driver == driver_kind::postgres ? "postgres" : "sqlite"; }

/// Connection statistics for invariantd_database_connections.
struct pool_stats {
    std::size_t idle = 0;
    std::size_t busy = 0;
};

/// A configured database: a bounded pool of connections. Owned by the daemon through
/// shared_ptr so that sessions still running when a reload replaces it keep it alive.
class database {
public:
    virtual ~database() = default;
    virtual driver_kind driver() const = 0;
    /// Borrows a connection within `deadline`; throws `error` (timeout when no connection
    /// became free in time, unavailable when the database cannot be opened).
    virtual asio::awaitable<std::unique_ptr<session>> open_session(steady_clock::time_point deadline) = 0;
    virtual pool_stats stats() const = 0;
    /// Stops using the database: idle connections are closed, borrowed ones on return.
    virtual void close() = 0;
};

}  // namespace invariantd::db
