#pragma once
#include <memory>
#include <string>
#include <vector>

#include "daemon/common/duration.hpp"
#include "daemon/db/connection_pool.hpp"
#include "daemon/db/database.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace invariantd::db {

/// Column `column` of the statement's current row as a value: NULL, INTEGER, REAL as such;
/// TEXT and BLOB as text with invalid UTF-8 replaced by U+FFFD.
value sqlite_column_value(sqlite3_stmt* statement, int column);

struct sqlite_options {
    std::string name;  ///< the database's name in the configuration, for messages
    std::string path;  ///< opened read-only; the file must exist
    std::size_t max_connections = 2;
    duration busy_timeout{5000};
};

/// SQLite driver. Connections are opened with SQLITE_OPEN_READONLY and `PRAGMA query_only=1`;
/// every statement runs on this database's own worker threads (one per connection, so a
/// slow SQLite file never occupies threads another database needs). A session holds a
/// deferred read transaction so the queries of one check see one snapshot; it is rolled
/// back as soon as the session ends so no read transaction pins the application's WAL.
class sqlite_database final : public database, public std::enable_shared_from_this<sqlite_database> {
public:
    static std::shared_ptr<sqlite_database> create(asio::any_io_executor loop, sqlite_options options);
    ~sqlite_database() override;

    driver_kind driver() const override { return driver_kind::sqlite; }
    asio::awaitable<std::unique_ptr<session>> open_session(steady_clock::time_point deadline) override;
    pool_stats stats() const override { return pool_.stats(); }
    void close() override;

    /// Called by a finished session (on the loop) to return its connection.
    void give_back(sqlite3* connection);
    asio::thread_pool& workers() { return workers_; }
    asio::any_io_executor loop() const { return loop_; }
    const sqlite_options& options() const { return options_; }

private:
    sqlite_database(asio::any_io_executor loop, sqlite_options options);

    asio::any_io_executor loop_;
    sqlite_options options_;
    asio::thread_pool workers_;
    connection_pool<sqlite3*> pool_;  ///< after workers_: closes into it
};

}  // namespace invariantd::db
