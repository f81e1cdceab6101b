#include "daemon/db/pg_client.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include "daemon/db/pg_wire.hpp"

namespace invariantd::db {

std::string text_of(const value& cell) {
    return std::holds_alternative<std::nullptr_t>(cell) ? std::string() : to_string(cell);
}

std::int64_t integer_of(const value& cell) {
    if (const auto* number = std::get_if<std::int64_t>(&cell)) return *number;
    if (const auto* real = std::get_if<double>(&cell)) return static_cast<std::int64_t>(*real);
    if (const auto* text = std::get_if<std::string>(&cell)) return std::stoll(*text);
    return 0;
}

double real_of(const value& cell) {
    return to_number(cell).value_or(0.0);
}

pg_client::pg_client(asio::any_io_executor loop, pg_client_options options)
    : loop_(loop), options_(std::move(options)), turn_(loop, 1) {}

pg_client::~pg_client() {
    connection_.reset();  // hands PQfinish to blocking_
    blocking_.join();
}

void pg_client::disconnect() {
    connection_.reset();
}

asio::awaitable<void> pg_client::ensure_connected(steady_clock::time_point deadline) {
    if (connection_ && !connection_->broken && PQstatus(connection_->get()) == CONNECTION_OK) co_return;
    connection_.reset();
    const auto timeout_ms = options_.statement_timeout.count();
    // application_name and the timeouts come after the expanded DSN, so they win over it.
    pg_connect_params params{
        {"dbname", "application_name", "options"},
        {options_.dsn, options_.application_name,
         fmt::format("-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={} "
                     "-c client_connection_check_interval=1000 -c client_min_messages=warning",
                     timeout_ms, timeout_ms, timeout_ms * 4)}};
    const auto connect_deadline = std::min(deadline, steady_clock::now() + options_.connect_timeout);
    try {
        connection_ = co_await pg_connect(loop_, blocking_.get_executor(), options_.name, std::move(params),
                                          connect_deadline, options_.connect_timeout);
        connection_->cancel_on_timeout = false;
    } catch (const error& e) {
        throw error(error_kind::unavailable, fmt::format("cannot connect to {}: {}", options_.name, e.what()));
    }
}

namespace {

/// Gives the connection to the next caller when a statement is done, however it ended.
struct turn_guard {
    async_semaphore& turn;
    ~turn_guard() { turn.release(); }
};

}  // namespace

asio::awaitable<void> pg_client::take_turn(steady_clock::time_point deadline) {
    const bool granted = co_await turn_.acquire(deadline);
    if (!granted)
        throw error(error_kind::timeout, fmt::format("{} was busy until the deadline", options_.name));
}

asio::awaitable<rowset> pg_client::run(std::string sql, std::vector<value> params, bool simple,
                                       steady_clock::time_point deadline) {
    co_await take_turn(deadline);
    const turn_guard guard{turn_};
    co_await ensure_connected(deadline);
    std::exception_ptr failure;
    rowset rows;
    try {
        rows = co_await pg_execute(*connection_, sql, params, std::numeric_limits<std::size_t>::max(), simple, deadline);
    } catch (...) {
        failure = std::current_exception();
    }
    if (connection_->broken || PQstatus(connection_->get()) != CONNECTION_OK) connection_.reset();
    if (failure) std::rethrow_exception(failure);
    co_return rows;
}

asio::awaitable<rowset> pg_client::exec(std::string sql, std::vector<value> params, steady_clock::time_point deadline) {
    co_return co_await run(std::move(sql), std::move(params), false, deadline);
}

asio::awaitable<void> pg_client::exec_script(std::string sql, steady_clock::time_point deadline) {
    std::vector<value> none;
    co_await run(std::move(sql), std::move(none), true, deadline);
}

asio::awaitable<void> pg_client::rollback() {
    const auto deadline = steady_clock::now() + std::chrono::seconds(5);
    const bool granted = co_await turn_.acquire(deadline);
    if (!granted) co_return;  // someone else's statement: never pull it away
    const turn_guard guard{turn_};
    if (!connection_) co_return;
    if (PQtransactionStatus(connection_->get()) == PQTRANS_IDLE) co_return;
    bool failed = false;
    try {
        co_await pg_execute(*connection_, "ROLLBACK", {}, 0, true, deadline);
    } catch (const error&) {
        failed = true;
    }
    if (failed || !connection_ || connection_->broken) connection_.reset();
}

}  // namespace invariantd::db
