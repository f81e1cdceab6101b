#pragma once
#include "checks/module.hpp"
#include "checks/result.hpp"
#include "daemon/config/config.hpp"
#include "daemon/db/database.hpp"

namespace invariantd {

/// Runs one check once: borrows a session within the check's timeout, runs the module,
/// bounds samples and breakdown. Never throws: a check that cannot run comes back as a
/// result with status error or timeout and a secret-free message.
asio::awaitable<checks::check_result> run_check_once(const config::check_config& check,
                                                     const checks::check_module& module, db::database& database);

}  // namespace invariantd
