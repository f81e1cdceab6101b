#include "checks/registry.hpp"

#include "checks/modules.hpp"

namespace invariantd::checks {

const std::vector<const check_module*>& all_modules() {
    static const std::vector<const check_module*> modules{
        &shift_coverage_module(),    &duplicates_module(), &orphans_module(),
        &sync_failure_rate_module(), &backlog_module(),    &event_pairing_module(),
        &coverage_module(),          &schema_module(),     &sql_module(),
    };
    return modules;
}

const check_module* find_module(std::string_view name) {
    for (const auto* module : all_modules()) {
        if (module->name() == name) return module;
    }
    return nullptr;
}

}  // namespace invariantd::checks
