#include "daemon/core/check_runner.hpp"

#include <algorithm>

#include "daemon/common/secrets.hpp"

namespace invariantd {

asio::awaitable<checks::check_result> run_check_once(const config::check_config& check,
                                                     const checks::check_module& module, db::database& database) {
    checks::check_result result;
    result.started = system_clock::now();
    const auto began = steady_clock::now();
    const auto deadline = began + check.timeout;
    try {
        auto session = co_await database.open_session(deadline);
        const checks::check_context context{checks::module_args(check.params), *session,
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
