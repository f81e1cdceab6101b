#include "checks/registry.hpp"

#include "checks/backlog.hpp"
#include "checks/coverage.hpp"
#include "checks/duplicates.hpp"
#include "checks/event_pairing.hpp"
#include "checks/orphans.hpp"
#include "checks/schema.hpp"
#include "checks/shift_coverage.hpp"
#include "checks/sql.hpp"
#include "checks/sync_failure_rate.hpp"

namespace invariantd::checks {

const std::vector<const check_module*>& all_modules() {
    static const shift_coverage_module shift_coverage;
    static const duplicates_module duplicates;
    static const orphans_module orphans;
    static const sync_failure_rate_module sync_failure_rate;
    static const backlog_module backlog;
    static const event_pairing_module event_pairing;
    static const coverage_module coverage;
    static const schema_module schema;
    static const sql_module sql;
    static const std::vector<const check_module*> modules{&shift_coverage, &duplicates, &orphans,   &sync_failure_rate,
                                                          &backlog,        &event_pairing, &coverage, &schema, &sql};
    return modules;
}

const check_module* find_module(std::string_view name) {
    for (const auto* module : all_modules()) {
        if (module->name() == name) return module;
    }
    return nullptr;
}

}  // namespace invariantd::checks
