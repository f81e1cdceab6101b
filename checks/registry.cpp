#include "checks/registry.hpp"

#include "checks/sql.hpp"

namespace invariantd::checks {

const std::vector<const check_module*>& all_modules() {
    static const sql_module sql;
    static const std::vector<const check_module*> modules{&sql};
    return modules;
}

const check_module* find_module(std::string_view name) {
    for (const auto* module : all_modules()) {
        if (module->name() == name) return module;
    }
    return nullptr;
}

}  // namespace invariantd::checks
