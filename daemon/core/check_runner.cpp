#include "daemon/core/check_runner.hpp"

#include <algorithm>

#include "daemon/common/secrets.hpp"

namespace invariantd {
namespace {

/// Passes every query through and keeps its text, for the check's page ("the statement text
/// the module runs"). Parameters are bound apart from the text, so no value is kept.
class recording_session final : public db::session {
public:
    recording_session(db::session& inner, std::vector<std::string>& statements)
        : inner_(inner), statements_(statements) {}
    asio::awaitable<db::rowset> query(std::string sql, std::vector<db::value> params, std::size_t max_rows) override {
        statements_.push_back(secret_registry::global().redact(sql));
        auto rows = co_await inner_.query(std::move(sql), std::move(params), max_rows);
        co_return rows;
    }
    void last_query_next() override { inner_.last_query_next(); }
    void limit_cost(double max_cost, duration recheck) override { inner_.limit_cost(max_cost, recheck); }
    asio::awaitable<std::optional<std::string>> plan(std::string sql, std::vector<db::value> params) override {
        auto explained = co_await inner_.plan(std::move(sql), std::move(params));
        co_return explained;
    }

private:
    db::session& inner_;
    std::vector<std::string>& statements_;
};

}  // namespace

asio::awaitable<checks::check_result> run_check_once(const config::check_config& check,
                                                     const checks::check_module& module, db::database& database) {
    checks::check_result result;
    result.started = system_clock::now();
    const auto began = steady_clock::now();
    const auto deadline = began + check.timeout;
    try {
        auto session = co_await database.open_session(deadline);
        if (check.max_cost) session->limit_cost(*check.max_cost, check.max_cost_recheck);
        recording_session recorded(*session, result.statements);
        const checks::check_context context{checks::module_args(check.params), recorded,
                                            checks::dialect_of(database.driver()), check.max_samples,
                                            check.max_tracked};
        result.output = co_await module.run(context);
        if (result.output.samples.size() > check.max_samples) {
            result.output.samples.erase(result.output.samples.begin() + static_cast<std::ptrdiff_t>(check.max_samples),
                                        result.output.samples.end());
        }
    } catch (const db::error& e) {
        result.status = e.kind() == db::error_kind::timeout ? checks::run_status::timeout : checks::run_status::error;
        result.database_unavailable = e.kind() == db::error_kind::unavailable;
        result.error = secret_registry::global().redact(e.what());
    } catch (const std::exception& e) {
        result.status = checks::run_status::error;
        result.error = secret_registry::global().redact(e.what());
    }
    if (result.status != checks::run_status::ok) result.output = {};
    result.duration_seconds = std::chrono::duration<double>(steady_clock::now() - began).count();
    co_return result;
}


}  // namespace invariantd
