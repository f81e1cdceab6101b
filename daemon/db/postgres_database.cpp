#include "daemon/db/postgres_database.hpp"

#include "daemon/common/utf8.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <random>
#include <utility>

#include "daemon/common/secrets.hpp"
#include "daemon/db/query_plan.hpp"
#include "daemon/db/run_blocking.hpp"

namespace invariantd::db {

using wait_type = asio::posix::descriptor_base::wait_type;

/// One libpq connection and the Asio descriptor that watches its socket. The descriptor
/// is released (not closed) on the loop, because the socket belongs to libpq; PQfinish, which
/// sends the server a Terminate message and may block on a full socket, runs on `finisher`.
class pg_connection {
public:
    pg_connection(asio::any_io_executor loop, asio::any_io_executor finisher, PGconn* connection)
        : connection_(connection),
          descriptor_(loop),
          finisher_(std::move(finisher)),
          created_(steady_clock::now()) {}
    ~pg_connection() {
        if (descriptor_.is_open()) descriptor_.release();
        asio::post(finisher_, [connection = connection_]() { PQfinish(connection); });
    }
    pg_connection(const pg_connection&) = delete;
    pg_connection& operator=(const pg_connection&) = delete;

    PGconn* get() const { return connection_; }
    steady_clock::time_point created() const { return created_; }
    bool broken = false;  ///< state unknown after a timeout or I/O error: never reuse

    /// libpq may switch sockets while connecting (several hosts or addresses, or sslmode=prefer
    /// retrying without TLS): re-register it on every step. Comparing descriptor numbers is not
    /// enough — the new socket often gets the number of the one libpq just closed, which the
    /// reactor has already forgotten, and a wait on it would never wake.
    void refresh_socket() {
        if (descriptor_.is_open()) descriptor_.release();
        fd_ = PQsocket(connection_);
        if (fd_ >= 0) descriptor_.assign(fd_);
    }

    /// Waits until the socket is ready for `type` or `deadline` passes (false).
    asio::awaitable<bool> wait(wait_type type, steady_clock::time_point deadline) {
        if (!descriptor_.is_open()) co_return true;  // let libpq report the broken connection
        auto done = std::make_shared<bool>(false);
        auto timed_out = std::make_shared<bool>(false);
        asio::steady_timer timer(descriptor_.get_executor(), deadline);
        // The timer cancels the wait; `done` makes a timer handler that runs after the wait
        // already finished a no-op, so it never touches a descriptor that moved on.
        timer.async_wait([done, timed_out, descriptor = &descriptor_](boost::system::error_code ec) {
            if (ec || *done) return;
            *timed_out = true;
            boost::system::error_code ignored;
            descriptor->cancel(ignored);
        });
        boost::system::error_code ec;
        co_await descriptor_.async_wait(type, asio::redirect_error(asio::use_awaitable, ec));
        *done = true;
        timer.cancel();
        co_return !*timed_out;
    }

private:
    PGconn* connection_;
    asio::posix::stream_descriptor descriptor_;
    asio::any_io_executor finisher_;
    int fd_ = -1;
    steady_clock::time_point created_;
};

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
error failure_of(PGresult* result, PGconn* connection) {
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
asio::awaitable<void> await_result(postgres_database& owner, pg_connection& connection,
                                   steady_clock::time_point deadline) {
    PGconn* raw = connection.get();
    const auto client_deadline = deadline + std::chrono::seconds(1);
    while (PQisBusy(raw) != 0) {
        if (!co_await connection.wait(wait_type::wait_read, client_deadline)) {
            connection.broken = true;
            co_await owner.cancel_on_server(connection);
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
        ++out.row_count;
        if (out.rows.size() >= max_rows) {
            out.truncated = true;
            continue;
        }
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
asio::awaitable<rowset> execute(postgres_database& owner, pg_connection& connection, const std::string& sql,
                                const std::vector<value>& params, std::size_t max_rows, bool simple,
                                steady_clock::time_point deadline) {
    PGconn* raw = connection.get();
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
        co_await await_result(owner, connection, deadline);
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
asio::awaitable<rowset> execute_pipeline(postgres_database& owner, pg_connection& connection,
                                         const std::vector<pipeline_step>& steps, steady_clock::time_point deadline,
                                         std::size_t rows_of) {
    PGconn* raw = connection.get();
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
            co_await await_result(owner, connection, deadline);
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
        co_await await_result(owner, connection, deadline);
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

namespace {

class postgres_session final : public session {
public:
    postgres_session(std::shared_ptr<postgres_database> owner, std::unique_ptr<pg_connection> connection,
                     steady_clock::time_point deadline)
        : owner_(std::move(owner)), connection_(std::move(connection)), deadline_(deadline) {}

    ~postgres_session() override {
        // ROLLBACK needs I/O, so the hand-back runs as its own coroutine on the loop; the
        // slot stays taken until it is done, which keeps the pool within max_connections.
        auto owner = owner_;
        auto finish = [owner, connection = std::move(connection_)]() mutable {
            return owner->finish_session(std::move(connection));
        };
        asio::co_spawn(owner->loop(), std::move(finish), log_escaped_exception{"postgres session end"});
    }

    /// The first statement goes out in one pipeline with the transaction's start —
    /// `BEGIN READ ONLY`, the three timeouts through one `SELECT set_config(…, true)` with the
    /// values bound (one pg_stat_statements entry whatever the timeout; SET LOCAL would paste
    /// them into its text), the statement — and, when the module said it is the last one,
    /// `ROLLBACK`: a single-statement check costs one round trip and four statements. Later
    /// statements run in the same transaction, one round trip each.
    asio::awaitable<rowset> query(std::string sql, std::vector<value> params, std::size_t max_rows) override {
        const bool last = std::exchange(last_next_, false);
        if (max_cost_) {
            auto cost = owner_->known_cost(sql, cost_recheck_);
            if (!cost) {
                auto explained = co_await plan(sql, params);
                cost = parse_query_plan(explained.value_or("")).total_cost;
                owner_->remember_cost(sql, *cost);
            }
            if (*cost > *max_cost_)
                throw error(error_kind::query, fmt::format("estimated cost {} exceeds max_cost {}", *cost, *max_cost_));
        }
        auto rows = co_await run_statement(std::move(sql), std::move(params), max_rows, last);
        co_return rows;
    }

    void last_query_next() override { last_next_ = true; }
    void limit_cost(double max_cost, duration recheck) override {
        max_cost_ = max_cost;
        cost_recheck_ = recheck;
    }

    /// EXPLAIN (FORMAT JSON) inside the session's read-only transaction (starting it, in one
    /// pipeline, when this is the first statement), parameters bound as the statement's own.
    asio::awaitable<std::optional<std::string>> plan(std::string sql, std::vector<value> params) override {
        std::string explain = "EXPLAIN (FORMAT JSON) " + sql;
        const auto rows = co_await run_statement(std::move(explain), std::move(params), 1, false);
        if (rows.rows.empty() || rows.rows.front().empty()) co_return std::nullopt;
        co_return to_string(rows.rows.front().front());
    }

private:
    /// One statement in the session's transaction; the first one goes out in one pipeline
    /// with the transaction's start (and with ROLLBACK when `end_transaction`).
    asio::awaitable<rowset> run_statement(std::string sql, std::vector<value> params, std::size_t max_rows,
                                          bool end_transaction) {
        if (in_transaction_) co_return co_await execute(*owner_, *connection_, sql, params, max_rows, false, deadline_);
        std::vector<pipeline_step> steps;
        steps.push_back({"BEGIN READ ONLY", {}, 0});
        steps.push_back({timeouts_statement(), timeout_values(), 0});
        steps.push_back({std::move(sql), std::move(params), max_rows});
        if (end_transaction) steps.push_back({"ROLLBACK", {}, 0});
        // Until the pipeline says otherwise: after an error the transaction is aborted and
        // finish_session rolls it back (a second round trip, only then).
        in_transaction_ = true;
        auto rows = co_await execute_pipeline(*owner_, *connection_, steps, deadline_, 2);
        in_transaction_ = PQtransactionStatus(connection_->get()) != PQTRANS_IDLE;
        co_return rows;
    }

    static const std::string& timeouts_statement() {
        static const std::string text =
            "SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true), "
            "set_config('idle_in_transaction_session_timeout', $3, true)";
        return text;
    }

    std::vector<value> timeout_values() const {
        const auto remaining =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - steady_clock::now());
        const auto statement_ms = std::max<std::int64_t>(1, remaining.count());
        const auto lock_ms =
            std::max<std::int64_t>(1, std::min(statement_ms, owner_->options().lock_timeout.count()));
        return {std::to_string(statement_ms), std::to_string(lock_ms), std::to_string(statement_ms + 5000)};
    }

    std::shared_ptr<postgres_database> owner_;
    std::unique_ptr<pg_connection> connection_;
    steady_clock::time_point deadline_;
    bool in_transaction_ = false;
    bool last_next_ = false;
    std::optional<double> max_cost_;
    duration cost_recheck_{3600000};
};

}  // namespace

std::shared_ptr<postgres_database> postgres_database::create(asio::any_io_executor loop,
                                                             postgres_options options) {
    return std::shared_ptr<postgres_database>(new postgres_database(loop, std::move(options)));
}

postgres_database::postgres_database(asio::any_io_executor loop, postgres_options options)
    : loop_(loop),
      options_(std::move(options)),
      blocking_(1),
      // A discarded connection's destructor hands PQfinish to blocking_.
      pool_(options_.shared_slots ? connection_pool<std::unique_ptr<pg_connection>>(options_.shared_slots,
                                                                                    [](std::unique_ptr<pg_connection>) {})
                                  : connection_pool<std::unique_ptr<pg_connection>>(
                                        loop, options_.max_connections, [](std::unique_ptr<pg_connection>) {})) {}

postgres_database::~postgres_database() {
    pool_.close();
    blocking_.join();  // runs the PQfinish calls just handed over
}

asio::awaitable<std::unique_ptr<pg_connection>> postgres_database::connect(
    steady_clock::time_point deadline) {
    const auto now = steady_clock::now();
    if (now < retry_after_) {
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_after_ - now);
        throw error(error_kind::unavailable,
                    fmt::format("{} (next connection attempt in {:.1f}s)", last_connect_error_,
                                static_cast<double>(wait.count()) / 1000.0));
    }
    const auto connect_deadline = std::min(deadline, now + options_.connect_timeout);
    // PQconnectStartParams may resolve the host name: off the loop. application_name comes
    // after the expanded DSN, so it overrides whatever the DSN says.
    // A set member's database name comes after the DSN too: only the first dbname is
    // expanded as a connection string, a later one is a plain database name that wins.
    auto start = [dsn = options_.dsn, member = options_.database_name,
                  application = options_.application_name]() -> PGconn* {
        if (member.empty()) {
            const char* keywords[] = {"dbname", "application_name", nullptr};
            const char* values[] = {dsn.c_str(), application.c_str(), nullptr};
            return PQconnectStartParams(keywords, values, 1);
        }
        const char* keywords[] = {"dbname", "dbname", "application_name", nullptr};
        const char* values[] = {dsn.c_str(), member.c_str(), application.c_str(), nullptr};
        return PQconnectStartParams(keywords, values, 1);
    };
    PGconn* raw = co_await run_blocking(blocking_.get_executor(), std::move(start));
    if (raw == nullptr) throw error(error_kind::unavailable, "libpq could not allocate a connection");
    auto connection = std::make_unique<pg_connection>(loop_, blocking_.get_executor(), raw);
    auto fail = [&](std::string message) {
        backoff_ = std::min<duration>(backoff_.count() == 0 ? duration(500) : backoff_ * 2, duration(30000));
        std::mt19937 random(std::random_device{}());
        const double factor = std::uniform_real_distribution<double>(0.8, 1.2)(random);
        retry_after_ = steady_clock::now() +
                       duration(static_cast<std::int64_t>(static_cast<double>(backoff_.count()) * factor));
        last_connect_error_ = fmt::format("cannot connect to database '{}': {}", options_.name, message);
        return error(error_kind::unavailable, last_connect_error_);
    };
    PostgresPollingStatusType polling =
        PQstatus(raw) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (polling != PGRES_POLLING_OK) {
        if (polling == PGRES_POLLING_FAILED) throw fail(clean(PQerrorMessage(raw)));
        connection->refresh_socket();
        const bool ready = co_await connection->wait(
            polling == PGRES_POLLING_READING ? wait_type::wait_read : wait_type::wait_write,
            connect_deadline);
        if (!ready)
            throw fail(fmt::format("connection attempt timed out after {}",
                                   format_duration(options_.connect_timeout)));
        polling = PQconnectPoll(raw);
    }
    connection->refresh_socket();
    if (PQsetnonblocking(raw, 1) != 0) throw fail(clean(PQerrorMessage(raw)));
    backoff_ = duration(0);
    retry_after_ = {};
    co_return connection;
}

asio::awaitable<std::unique_ptr<session>> postgres_database::open_session(steady_clock::time_point deadline) {
    if (pool_.closed())
        throw error(error_kind::unavailable, fmt::format("database '{}' was removed", options_.name));
    if (!co_await pool_.acquire(deadline))
        throw error(
            error_kind::timeout,
            fmt::format("no free connection to database '{}' before the check timeout", options_.name));
    std::unique_ptr<pg_connection> connection;
    try {
        // Recycle old connections so server backends do not live (and grow) forever.
        const std::function<bool(const std::unique_ptr<pg_connection>&)> fresh =
            [this](const std::unique_ptr<pg_connection>& candidate) {
                return steady_clock::now() - candidate->created() < options_.max_lifetime &&
                       PQstatus(candidate->get()) == CONNECTION_OK;
            };
        auto idle = pool_.take_idle(fresh);
        // Not `idle ? ... : co_await ...`: g++ 12 destroys the temporaries of a co_await inside
        // a conditional expression twice (daemon/README.md).
        if (idle)
            connection = std::move(*idle);
        else
            connection = co_await connect(deadline);
    } catch (...) {
        pool_.abandon();
        throw;
    }
    auto opened = std::make_unique<postgres_session>(shared_from_this(), std::move(connection), deadline);
    co_return opened;
}

asio::awaitable<void> postgres_database::finish_session(std::unique_ptr<pg_connection> connection) {
    bool reusable = !connection->broken && !pool_.closed() && PQstatus(connection->get()) == CONNECTION_OK;
    // A set member holds no idle connection: the set's bound counts open connections.
    const bool keep = !options_.shared_slots;
    const auto transaction = PQtransactionStatus(connection->get());
    if (reusable && transaction == PQTRANS_ACTIVE) {
        // The check was abandoned mid-statement: stop it on the server, do not reuse.
        co_await cancel_on_server(*connection);
        reusable = false;
    }
    if (reusable && (transaction == PQTRANS_INTRANS || transaction == PQTRANS_INERROR)) {
        try {
            co_await execute(*this, *connection, "ROLLBACK", {}, 0, true,
                             steady_clock::now() + std::chrono::seconds(5));
        } catch (const error& e) {
            spdlog::debug("database '{}': rollback failed, discarding the connection: {}", options_.name,
                          e.what());
            reusable = false;
        }
    } else if (transaction == PQTRANS_UNKNOWN) {
        reusable = false;
    }
    pool_.give_back(std::move(connection), reusable && keep);
}

asio::awaitable<void> postgres_database::cancel_on_server(pg_connection& connection) {
    PGcancel* cancel = PQgetCancel(connection.get());
    if (cancel == nullptr) co_return;
    auto job = [cancel]() {
        char message[256] = {};
        const int sent = PQcancel(cancel, message, sizeof message);
        PQfreeCancel(cancel);
        return sent;
    };
    if (co_await run_blocking(blocking_.get_executor(), std::move(job)) == 0)
        spdlog::warn("database '{}': cancel request could not be sent", options_.name);
}

std::optional<double> postgres_database::known_cost(const std::string& sql, duration recheck) const {
    const auto it = costs_.find(sql);
    if (it == costs_.end() || steady_clock::now() - it->second.at >= recheck) return std::nullopt;
    return it->second.cost;
}

void postgres_database::remember_cost(const std::string& sql, double cost) {
    // Statement texts are few (a module's statements, per check); a bound keeps a
    // misbehaving configuration from growing it without end.
    if (costs_.size() >= 10000) costs_.clear();
    costs_[sql] = {cost, steady_clock::now()};
}

void postgres_database::close() {
    pool_.close();
}

}  // namespace invariantd::db
