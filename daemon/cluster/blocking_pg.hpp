#pragma once
/// A blocking libpq connection for the coordination database of cluster mode (SPEC §12).
///
/// Used only on the coordinator's own worker thread (never the event loop): heartbeats and
/// state writes are a few small statements each, and keeping them off the check drivers'
/// connections means slow checks never starve the heartbeat. Every statement has a server-side
/// `statement_timeout` so a stuck coordination database cannot hold the thread forever.
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct pg_conn;

namespace invariantd::cluster {

/// A failed connection or statement. `what()` is libpq's message without the DSN.
struct pg_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
    std::string sqlstate;  ///< empty for connection failures
};

/// Rows of one statement, text format; a NULL cell is nullopt.
struct pg_rows {
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::size_t affected = 0;  ///< PQcmdTuples for INSERT/UPDATE/DELETE
    const std::string& at(std::size_t row, std::size_t column) const;
};

using pg_params = std::vector<std::optional<std::string>>;

class blocking_pg {
public:
    blocking_pg(std::string dsn, std::string application_name, std::chrono::milliseconds timeout);
    ~blocking_pg();
    blocking_pg(const blocking_pg&) = delete;
    blocking_pg& operator=(const blocking_pg&) = delete;

    /// Connects if not connected (or the connection broke). Throws pg_failure.
    void ensure_connected();
    /// Runs one statement with text parameters ($1…). Throws pg_failure; a broken connection
    /// is dropped so the next call reconnects.
    pg_rows exec(const std::string& sql, const pg_params& params = {});
    /// Runs `sql` (several statements, no parameters) as one simple query.
    void exec_script(const std::string& sql);
    void disconnect();

private:
    std::string dsn_;
    std::string application_name_;
    std::chrono::milliseconds timeout_;
    pg_conn* connection_ = nullptr;
};

}  // namespace invariantd::cluster
