#pragma once
/// The built-in check modules: each `<name>.cpp` keeps its class private and exports one
/// function returning its single instance. Adding a module: write `checks/<name>.cpp`, declare
/// its function here, list it in registry.cpp, add the file to checks/CMakeLists.txt.
#include "checks/module.hpp"

namespace invariantd::checks {

const check_module& shift_coverage_module();
const check_module& duplicates_module();
const check_module& orphans_module();
const check_module& sync_failure_rate_module();
const check_module& backlog_module();
const check_module& event_pairing_module();
const check_module& coverage_module();
const check_module& schema_module();
const check_module& sql_module();

}  // namespace invariantd::checks
