#include "daemon/db/sqlite_database.hpp"

#include "daemon/common/utf8.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "daemon/common/secrets.hpp"
#include "daemon/db/run_blocking.hpp"

namespace invariantd::db {
value sqlite_column_value(sqlite3_stmt* statement, int column) {
    switch (sqlite3_column_type(statement, column)) {
        case SQLITE_NULL:
            return nullptr;
        case SQLITE_INTEGER:
            return static_cast<std::int64_t>(sqlite3_column_int64(statement, column));
        case SQLITE_FLOAT:
            return sqlite3_column_double(statement, column);
        default: {
            // TEXT is whatever the application stored; a BLOB is any bytes.
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
            const int size = sqlite3_column_bytes(statement, column);
            return valid_utf8(std::string_view(text != nullptr ? text : "", static_cast<std::size_t>(size)));
        }
    }
}

namespace {

error_kind classify(int code) {
    switch (code & 0xff) {
        case SQLITE_CANTOPEN:
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
        case SQLITE_IOERR:
        case SQLITE_PERM:
        case SQLITE_AUTH:
            return error_kind::unavailable;
        case SQLITE_INTERRUPT:
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return error_kind::timeout;
        default:
            return error_kind::query;
    }
}

[[noreturn]] void fail(sqlite3* connection, int code, std::string_view context) {
    std::string detail = connection != nullptr ? sqlite3_errmsg(connection) : sqlite3_errstr(code);
    const error_kind kind = classify(code);
    if ((code & 0xff) == SQLITE_INTERRUPT) detail = "query exceeded the check timeout and was interrupted";
    if ((code & 0xff) == SQLITE_READONLY)
        detail += " (invariantd opens SQLite databases read-only; the check tried to write)";
    throw error(kind, secret_registry::global().redact(fmt::format("{}: {}", context, detail)));
}

/// Progress-handler callback: interrupt the running statement once the deadline passed.
int interrupt_after_deadline(void* deadline) {
    return steady_clock::now() > *static_cast<const steady_clock::time_point*>(deadline) ? 1 : 0;
}

struct statement_guard {
    sqlite3_stmt* statement = nullptr;
    ~statement_guard() { sqlite3_finalize(statement); }
};

/// Runs one statement on a worker thread. The session's read transaction is opened here on
/// first use, so BEGIN and the SELECT that takes the snapshot run on the same thread.
rowset execute(sqlite3* connection, const std::string& sql, const std::vector<value>& params,
               std::size_t max_rows, steady_clock::time_point deadline, duration busy_timeout) {
    if (steady_clock::now() > deadline) throw error(error_kind::timeout, "check timeout reached before the query ran");
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    sqlite3_busy_timeout(connection, static_cast<int>(std::min(busy_timeout, remaining).count()));
    sqlite3_progress_handler(connection, 1000, interrupt_after_deadline, &deadline);
    struct reset_handler {
        sqlite3* connection;
        ~reset_handler() { sqlite3_progress_handler(connection, 0, nullptr, nullptr); }
    } reset{connection};

    if (sqlite3_get_autocommit(connection) != 0) {
        const int rc = sqlite3_exec(connection, "BEGIN", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) fail(connection, rc, "starting read transaction");
    }

    statement_guard guard;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(connection, sql.c_str(), static_cast<int>(sql.size()), &guard.statement, &tail);
    if (rc != SQLITE_OK) fail(connection, rc, "preparing query");
    if (guard.statement == nullptr) throw error(error_kind::query, "the query is empty");
    if (tail != nullptr && std::any_of(tail, sql.c_str() + sql.size(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)) && c != ';'; }))
        throw error(error_kind::query, "the query holds more than one statement; give exactly one");
    if (sqlite3_stmt_readonly(guard.statement) == 0)
        throw error(error_kind::query,
                    "the query would write to the database; invariantd only runs read-only statements");
    if (sqlite3_bind_parameter_count(guard.statement) != static_cast<int>(params.size()))
        throw error(error_kind::query, fmt::format("the query has {} parameters but {} values were bound",
                                                   sqlite3_bind_parameter_count(guard.statement), params.size()));
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int index = static_cast<int>(i) + 1;
        std::visit(
            [&](const auto& x) {
                using type = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<type, std::nullptr_t>) {
                    rc = sqlite3_bind_null(guard.statement, index);
                } else if constexpr (std::is_same_v<type, std::int64_t>) {
                    rc = sqlite3_bind_int64(guard.statement, index, x);
                } else if constexpr (std::is_same_v<type, double>) {
                    rc = sqlite3_bind_double(guard.statement, index, x);
                } else {
                    rc = sqlite3_bind_text(guard.statement, index, x.data(), static_cast<int>(x.size()),
                                           SQLITE_TRANSIENT);
                }
            },
            params[i]);
        if (rc != SQLITE_OK) fail(connection, rc, "binding query parameter");
    }

    rowset result;
    const int columns = sqlite3_column_count(guard.statement);
    for (int c = 0; c < columns; ++c) result.columns.push_back(valid_utf8(sqlite3_column_name(guard.statement, c)));
    while (true) {
        rc = sqlite3_step(guard.statement);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) fail(connection, rc, "running query");
        if (!result.admit_row(max_rows)) continue;
        std::vector<value> row;
        row.reserve(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) row.push_back(sqlite_column_value(guard.statement, c));
        result.rows.push_back(std::move(row));
    }
    return result;
}

class sqlite_session final : public session {
public:
    sqlite_session(std::shared_ptr<sqlite_database> owner, sqlite3* connection, steady_clock::time_point deadline)
        : owner_(std::move(owner)), connection_(connection), deadline_(deadline) {}

    ~sqlite_session() override {
        // End the read transaction on a worker (it may wait on the file lock), then hand the
        // connection back on the loop. The worker job moves its reference to the owner into
        // the loop job so the owner is never released on one of its own worker threads.
        // The loop executor is "tracked" so the loop keeps running until the hand-back ran.
        auto& workers = owner_->workers();
        auto loop = asio::prefer(owner_->loop(), asio::execution::outstanding_work.tracked);
        asio::post(workers, [owner = std::move(owner_), connection = connection_, loop]() mutable {
            if (sqlite3_get_autocommit(connection) == 0) sqlite3_exec(connection, "ROLLBACK", nullptr, nullptr, nullptr);
            asio::post(loop, [owner = std::move(owner), connection]() { owner->give_back(connection); });
        });
    }

    asio::awaitable<rowset> query(std::string sql, std::vector<value> params, std::size_t max_rows) override {
        auto job = [connection = connection_, sql = std::move(sql), params = std::move(params), max_rows,
                    deadline = deadline_, busy = owner_->options().busy_timeout]() {
            return execute(connection, sql, params, max_rows, deadline, busy);
        };
        co_return co_await run_blocking(owner_->workers().get_executor(), std::move(job));
    }

private:
    std::shared_ptr<sqlite_database> owner_;
    sqlite3* connection_;
    steady_clock::time_point deadline_;
};

sqlite3* open_read_only(const sqlite_options& options) {
    sqlite3* connection = nullptr;
    const int rc = sqlite3_open_v2(options.path.c_str(), &connection,
                                   SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = fmt::format("cannot open SQLite database '{}' read-only: {}", options.path,
                                          connection != nullptr ? sqlite3_errmsg(connection) : sqlite3_errstr(rc));
        sqlite3_close_v2(connection);
        throw error(error_kind::unavailable, secret_registry::global().redact(message));
    }
    // Before anything touches the file: two connections opening a WAL database at once may
    // meet while the WAL index is initialised, and must wait rather than fail with "locked".
    sqlite3_busy_timeout(connection, static_cast<int>(options.busy_timeout.count()));
    // query_only also refuses writes to attached or temp databases the read-only flag does
    // not cover; the schema read makes a non-database file fail here, not in a check.
    char* message = nullptr;
    const int pragma_rc = sqlite3_exec(connection, "PRAGMA query_only=1; SELECT count(*) FROM sqlite_master;",
                                       nullptr, nullptr, &message);
    if (pragma_rc != SQLITE_OK) {
        std::string text = fmt::format("cannot use SQLite database '{}': {}", options.path,
                                       message != nullptr ? message : sqlite3_errstr(pragma_rc));
        sqlite3_free(message);
        sqlite3_close_v2(connection);
        throw error(error_kind::unavailable, secret_registry::global().redact(text));
    }
    return connection;
}

}  // namespace

std::shared_ptr<sqlite_database> sqlite_database::create(asio::any_io_executor loop, sqlite_options options) {
    return std::shared_ptr<sqlite_database>(new sqlite_database(loop, std::move(options)));
}

sqlite_database::sqlite_database(asio::any_io_executor loop, sqlite_options options)
    : loop_(loop),
      options_(std::move(options)),
      workers_(std::max<std::size_t>(1, options_.max_connections)),
      pool_(loop, options_.max_connections,
            [this](sqlite3* connection) { asio::post(workers_, [connection]() { sqlite3_close_v2(connection); }); }) {}

sqlite_database::~sqlite_database() {
    pool_.close();
    workers_.join();  // runs the closes just handed over
}

asio::awaitable<std::unique_ptr<session>> sqlite_database::open_session(steady_clock::time_point deadline) {
    if (pool_.closed()) throw error(error_kind::unavailable, fmt::format("database '{}' was removed", options_.name));
    if (!co_await pool_.acquire(deadline))
        throw error(error_kind::timeout,
                    fmt::format("no free connection to database '{}' before the check timeout", options_.name));
    sqlite3* connection = nullptr;
    const std::function<bool(sqlite3* const&)> any = [](sqlite3* const&) { return true; };
    if (auto idle = pool_.take_idle(any)) {
        connection = *idle;
    } else {
        try {
            auto job = [options = options_]() { return open_read_only(options); };
            connection = co_await run_blocking(workers_.get_executor(), std::move(job));
        } catch (...) {
            pool_.abandon();
            throw;
        }
    }
    co_return std::make_unique<sqlite_session>(shared_from_this(), connection, deadline);
}

void sqlite_database::give_back(sqlite3* connection) { pool_.give_back(connection, true); }

void sqlite_database::close() { pool_.close(); }

}  // namespace invariantd::db
