#pragma once
/// Helpers for driving the daemon's coroutines from a test on a private io_context.
#include <future>
#include <string>

#include "daemon/common/asio.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/core/check_runner.hpp"
#include "daemon/core/database_factory.hpp"
#include "checks/registry.hpp"

namespace invariantd::test {

/// Runs `work` on `loop` until it completes and returns its result (rethrowing its exception).
template <typename T>
T run_to_completion(asio::io_context& loop, asio::awaitable<T> work) {
    auto future = asio::co_spawn(loop, std::move(work), asio::use_future);
    loop.restart();
    loop.run();
    return future.get();
}

/// A configuration with one SQLite database "db" at `db_path` and the given checks YAML
/// (a list, indented by two spaces under "checks:").
inline config::daemon_config sqlite_config(const std::string& db_path, const std::string& checks_yaml) {
    return config::load_config_text("databases:\n  db: { driver: sqlite, path: \"" + db_path + "\" }\nchecks:\n" +
                                        checks_yaml,
                                    "test.yaml", "/");
}

/// Runs the first check of `config` once against a fresh database handle.
inline checks::check_result run_first_check(const config::daemon_config& config) {
    asio::io_context loop;
    auto database = make_database(loop.get_executor(), config.databases.at(0));
    const auto& check = config.checks.at(0);
    auto result = run_to_completion(loop, run_check_once(check, *checks::find_module(check.module), *database));
    database->close();
    return result;
}

/// One run of `check` on `database`, then the session's hand-back (a ROLLBACK when one is
/// due runs after the result): the connection is idle in the pool again when this returns.
inline checks::check_result run_and_hand_back(asio::io_context& loop, db::database& database,
                                              const config::check_config& check) {
    auto result = run_to_completion(loop, run_check_once(check, *checks::find_module(check.module), database));
    loop.restart();
    loop.run();
    return result;
}

}  // namespace invariantd::test
