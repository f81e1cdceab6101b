#pragma once
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <string>

#include "daemon/common/duration.hpp"
#include "daemon/db/connection_pool.hpp"
#include "daemon/db/database.hpp"
#include "daemon/db/pg_wire.hpp"

namespace invariantd::db {

/// Worker threads for libpq's blocking calls: PQconnectStartParams (it may resolve a host
/// name) and PQfinish (it may wait on the network). A database has one thread of its own; a
/// database set's members share a few. The last owner's release joins the threads, so every
/// PQfinish handed over still runs.
class pg_blocking_pool {
public:
    explicit pg_blocking_pool(std::size_t threads) : pool_(threads) {}
    ~pg_blocking_pool() { pool_.join(); }
    pg_blocking_pool(const pg_blocking_pool&) = delete;
    pg_blocking_pool& operator=(const pg_blocking_pool&) = delete;
    asio::any_io_executor executor() { return pool_.get_executor(); }

private:
    asio::thread_pool pool_;
};

struct postgres_options {
    std::string name;  ///< the database's name in the configuration, for messages
    std::string dsn;   ///< libpq connection string or URI; secret, never logged
    std::size_t max_connections = 2;
    duration connect_timeout{5000};
    duration max_lifetime{3600000};  ///< connections older than this are closed instead of reused
    duration lock_timeout{1000};     ///< SET LOCAL lock_timeout (capped by the check's timeout)
    /// A member of a database set: the database to connect to on the DSN's server (overrides
    /// the DSN's dbname), and the set's connection slots shared by all its members (held by
    /// open connections, idle ones included: the set's open connections stay within its bound).
    std::string database_name;
    std::shared_ptr<set_slots> shared_slots;
    /// A set member's share of the set's blocking threads (null: a thread of its own).
    std::shared_ptr<pg_blocking_pool> shared_blocking;
    /// "invariantd", or "invariantd/<member>" in cluster mode (SPEC §12).
    std::string application_name = "invariantd";
};

/// PostgreSQL driver, fully asynchronous on the daemon's loop: libpq in non-blocking mode,
/// woken by async_wait on PQsocket. Each session is one pooled connection inside a
/// `BEGIN READ ONLY` transaction whose timeouts are set with `set_config(…, true)` (local to
/// the transaction, so they also hold behind PgBouncer in transaction mode), started in one
/// libpq pipeline with the first statement (and ended in it by ROLLBACK when the module says
/// that statement is its last): one round trip for a single-statement check. Unnamed
/// statements only; `application_name=invariantd`. A statement that
/// outlives the check's deadline is cancelled on the server (the blocking PQcancel runs on a
/// worker thread) and its connection discarded. Failed connection attempts back off
/// exponentially (0.5 s doubling to 30 s, ±20 % jitter); while backing off, sessions fail
/// fast with the last error. Loop thread only.
class postgres_database final : public database, public std::enable_shared_from_this<postgres_database> {
public:
    static std::shared_ptr<postgres_database> create(asio::any_io_executor loop, postgres_options options);
    ~postgres_database() override;

    driver_kind driver() const override { return driver_kind::postgres; }
    asio::awaitable<std::unique_ptr<session>> open_session(steady_clock::time_point deadline) override;
    pool_stats stats() const override { return pool_.stats(); }
    void close() override;

    /// Ends a session: rolls back (or cancels and discards) and returns the slot.
    asio::awaitable<void> finish_session(std::unique_ptr<pg_connection> connection);
    asio::any_io_executor loop() const { return loop_; }

    /// The cost guard's memory: a statement's estimated cost, trusted for `recheck`.
    std::optional<double> known_cost(const std::string& sql, duration recheck) const;
    void remember_cost(const std::string& sql, double cost);
    const postgres_options& options() const { return options_; }

private:
    postgres_database(asio::any_io_executor loop, postgres_options options);
    asio::awaitable<std::unique_ptr<pg_connection>> connect(steady_clock::time_point deadline);

    asio::any_io_executor loop_;
    postgres_options options_;
    std::shared_ptr<pg_blocking_pool> blocking_;
    connection_pool<std::unique_ptr<pg_connection>> pool_;  ///< after blocking_: closes into it
    steady_clock::time_point retry_after_{};
    duration backoff_{0};
    std::string last_connect_error_;
    struct cost_estimate {
        double cost = 0;
        steady_clock::time_point at;
    };
    std::map<std::string, cost_estimate> costs_;  ///< by statement text
};

}  // namespace invariantd::db
