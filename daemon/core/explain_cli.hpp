#pragma once
/// `invariantd explain -c FILE [--check NAME]...` (SPEC §11): runs each selected check once,
/// read-only as always, asking the planner about every statement before it is sent, and
/// prints the statements with their estimated cost and rows, and every sequential scan over a
/// table of more than 100 000 estimated rows with the indexes checks/README.md recommends for
/// the module. Exit codes: 0, 78 configuration error, 2 a database unreachable or a statement
/// failing.
#include <string>
#include <vector>

#include "daemon/config/config.hpp"

namespace invariantd {

/// `selected`: the checks to explain (the command line's --check, resolved by the caller).
int command_explain(const config::daemon_config& config, const std::vector<const config::check_config*>& selected);

}  // namespace invariantd
