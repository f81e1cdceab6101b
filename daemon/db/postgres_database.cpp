#include "daemon/db/postgres_database.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <random>
#include <utility>

#include "daemon/common/secrets.hpp"
#include "daemon/db/query_plan.hpp"
#include "daemon/db/pg_wire.hpp"

namespace invariantd::db {

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
        if (in_transaction_) co_return co_await pg_execute(*connection_, sql, params, max_rows, false, deadline_);
        std::vector<pipeline_step> steps;
        steps.push_back({"BEGIN READ ONLY", {}, 0});
        steps.push_back({timeouts_statement(), timeout_values(), 0});
        steps.push_back({std::move(sql), std::move(params), max_rows});
        if (end_transaction) steps.push_back({"ROLLBACK", {}, 0});
        // Until the pipeline says otherwise: after an error the transaction is aborted and
        // finish_session rolls it back (a second round trip, only then).
        in_transaction_ = true;
        auto rows = co_await pg_execute_pipeline(*connection_, steps, deadline_, 2);
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
      blocking_(options_.shared_blocking ? options_.shared_blocking : std::make_shared<pg_blocking_pool>(1)),
      // A discarded connection's destructor hands PQfinish to blocking_.
      pool_(options_.shared_slots ? connection_pool<std::unique_ptr<pg_connection>>(options_.shared_slots,
                                                                                    [](std::unique_ptr<pg_connection>) {})
                                  : connection_pool<std::unique_ptr<pg_connection>>(
                                        loop, options_.max_connections, [](std::unique_ptr<pg_connection>) {})) {}

postgres_database::~postgres_database() {
    pool_.close();  // its PQfinish calls run on blocking_, joined when its last owner lets go
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
    // application_name comes after the expanded DSN, so it overrides whatever the DSN says.
    // A set member's database name comes after the DSN too: only the first dbname is
    // expanded as a connection string, a later one is a plain database name that wins.
    pg_connect_params params{{"dbname"}, {options_.dsn}};
    if (!options_.database_name.empty()) {
        params.keywords.emplace_back("dbname");
        params.values.push_back(options_.database_name);
    }
    params.keywords.emplace_back("application_name");
    params.values.push_back(options_.application_name);
    std::unique_ptr<pg_connection> connection;
    std::string failure;
    try {
        connection = co_await pg_connect(loop_, blocking_->executor(), options_.name, std::move(params),
                                         connect_deadline, options_.connect_timeout);
    } catch (const error& e) {
        failure = e.what();
    }
    if (!connection) {
        backoff_ = std::min<duration>(backoff_.count() == 0 ? duration(500) : backoff_ * 2, duration(30000));
        std::mt19937 random(std::random_device{}());
        const double factor = std::uniform_real_distribution<double>(0.8, 1.2)(random);
        retry_after_ = steady_clock::now() +
                       duration(static_cast<std::int64_t>(static_cast<double>(backoff_.count()) * factor));
        last_connect_error_ = fmt::format("cannot connect to database '{}': {}", options_.name, failure);
        throw error(error_kind::unavailable, last_connect_error_);
    }
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
    const auto transaction = PQtransactionStatus(connection->get());
    if (reusable && transaction == PQTRANS_ACTIVE) {
        // The check was abandoned mid-statement: stop it on the server, do not reuse.
        co_await connection->cancel_on_server();
        reusable = false;
    }
    if (reusable && (transaction == PQTRANS_INTRANS || transaction == PQTRANS_INERROR)) {
        try {
            co_await pg_execute(*connection, "ROLLBACK", {}, 0, true,
                             steady_clock::now() + std::chrono::seconds(5));
        } catch (const error& e) {
            spdlog::debug("database '{}': rollback failed, discarding the connection: {}", options_.name,
                          e.what());
            reusable = false;
        }
    } else if (transaction == PQTRANS_UNKNOWN) {
        reusable = false;
    }
    pool_.give_back(std::move(connection), reusable);
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
