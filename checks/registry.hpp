#pragma once
#include <string_view>
#include <vector>

#include "checks/module.hpp"

namespace invariantd::checks {

/// Every built-in module, in the order `invariantd modules` lists them. The list is written
/// out in registry.cpp: no self-registration, so no module can be dropped by the linker.
const std::vector<const check_module*>& all_modules();

/// The module called `name`, or nullptr.
const check_module* find_module(std::string_view name);

/// The indexes checks/README.md recommends for a module's statements ("The modules: the
/// statements they run, the indexes they want"), for `invariantd explain`; "" when none.
std::string_view index_advice(std::string_view module);

}  // namespace invariantd::checks
