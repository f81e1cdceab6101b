#include "checks/registry.hpp"

#include "checks/modules.hpp"

#include <utility>

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

std::string_view index_advice(std::string_view module) {
    // Kept word for word with the table in checks/README.md.
    static const std::pair<std::string_view, std::string_view> advice[] = {
        {"shift_coverage", "shifts(event_skill_requirement_id), event_skill_requirements(event_id), events(status)"},
        {"duplicates",
         "the unique index on the key columns itself (then the figure is 0 by construction); otherwise an index "
         "on the key columns turns the GROUP BY into an index scan"},
        {"orphans",
         "the parent key (usually the primary key); an index on the child column helps only when most rows are "
         "NULL"},
        {"sync_failure_rate", "an index on the time column, e.g. flex_sync_log(created_at)"},
        {"backlog", "a partial index on the age column WHERE the pending column IS NULL, e.g. ON scans (created_at) "
                    "WHERE synced_at IS NULL"},
        {"event_pairing",
         "schedules(event_ref_num) (the runbook's idx_schedules_event_ref_num); for large tables an expression "
         "index on substr(project_name, 1, 6)"},
        {"coverage", "an index on the time column, e.g. sales(created_at)"},
        {"sql", "whatever the query needs"},
    };
    for (const auto& [name, text] : advice)
        if (name == module) return text;
    return {};
}

}  // namespace invariantd::checks
