#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

namespace invariantd::checks {

namespace {

/// `shift_coverage`: see checks/README.md for the statements it runs and the indexes it wants.
class shift_coverage final : public basic_module {
public:
    shift_coverage();
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

shift_coverage::shift_coverage()
    : basic_module(
          "shift_coverage",
          "missing shifts: Σ max(needed_workers − shifts, 0) over requirements of published/active events",
          {
              {.name = "events",
               .kind = param_kind::object,
               .help = "the events table",
               .fields = {{.name = "table", .kind = param_kind::identifier, .default_value = "events"},
                          {.name = "id", .kind = param_kind::identifier, .default_value = "id"},
                          {.name = "title", .kind = param_kind::identifier, .default_value = "title"},
                          {.name = "status", .kind = param_kind::identifier, .default_value = "status"}}},
              {.name = "requirements",
               .kind = param_kind::object,
               .help = "what each event needs, per role",
               .fields =
                   {{.name = "table",
                     .kind = param_kind::identifier,
                     .default_value = "event_skill_requirements"},
                    {.name = "id", .kind = param_kind::identifier, .default_value = "id"},
                    {.name = "event_id", .kind = param_kind::identifier, .default_value = "event_id"},
                    {.name = "role", .kind = param_kind::identifier, .default_value = "skill_name"},
                    {.name = "needed", .kind = param_kind::identifier, .default_value = "needed_workers"}}},
              {.name = "shifts",
               .kind = param_kind::object,
               .help = "one row per shift, counted per requirement id",
               .fields = {{.name = "table", .kind = param_kind::identifier, .default_value = "shifts"},
                          {.name = "id", .kind = param_kind::identifier, .default_value = "id"},
                          {.name = "requirement_id",
                           .kind = param_kind::identifier,
                           .default_value = "event_skill_requirement_id"}}},
              {.name = "statuses",
               .kind = param_kind::strings,
               .default_value = nlohmann::json::array({"published", "active"}),
               .help = "event statuses whose requirements must be staffed"},
          }) {}

asio::awaitable<module_output> shift_coverage::run(const check_context& context) const {
    const auto& args = context.args;
    const auto e = args.object("events");
    const auto r = args.object("requirements");
    const auto s = args.object("shifts");

    // One row per requirement of a watched event with its shift count: the basis of every
    // figure. Shifts are counted per requirement id (never by role name, which the runbook's
    // first attempt got wrong) in one GROUP BY, not one count per requirement.
    auto gaps = [&](bound_values& values) {
        std::string statuses;
        for (const auto& status : args.names("statuses")) {
            if (!statuses.empty()) statuses += ", ";
            statuses += values.bind(status);
        }
        return fmt::format(
            "WITH shift_counts AS (SELECT s.{s_req} AS requirement_id, COUNT(*) AS actual FROM {s_table} s "
            "WHERE s.{s_req} IS NOT NULL GROUP BY s.{s_req}), "
            "gaps AS (SELECT e.{e_id} AS event_id, e.{e_title} AS title, r.{r_id} AS requirement_id, "
            "r.{r_role} AS role, r.{r_needed} AS needed, COALESCE(c.actual, 0) AS actual "
            "FROM {r_table} r JOIN {e_table} e ON e.{e_id} = r.{r_event} "
            "LEFT JOIN shift_counts c ON c.requirement_id = r.{r_id} "
            "WHERE e.{e_status} IN ({statuses})) ",
            fmt::arg("s_req", s.identifier("requirement_id")), fmt::arg("s_table", s.identifier("table")),
            fmt::arg("e_id", e.identifier("id")), fmt::arg("e_title", e.identifier("title")),
            fmt::arg("e_table", e.identifier("table")), fmt::arg("e_status", e.identifier("status")),
            fmt::arg("r_id", r.identifier("id")), fmt::arg("r_role", r.identifier("role")),
            fmt::arg("r_needed", r.identifier("needed")), fmt::arg("r_table", r.identifier("table")),
            fmt::arg("r_event", r.identifier("event_id")), fmt::arg("statuses", statuses));
    };

    module_output output;
    {
        bound_values values(context.dialect);
        const std::string sql =
            gaps(values) +
            "SELECT COALESCE(SUM(CASE WHEN actual < needed THEN needed - actual ELSE 0 END), 0), "
            "COUNT(DISTINCT CASE WHEN actual < needed THEN event_id END), "
            "COALESCE(SUM(CASE WHEN actual < needed THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN actual > needed THEN actual - needed ELSE 0 END), 0) FROM gaps";
        const auto figures = co_await context.session.query(sql, values.take(), 1);
        output.value = number_at(figures, 0);
        output.details = {{"missing_shifts", number_at(figures, 0)},
                          {"events_affected", number_at(figures, 1)},
                          {"requirements_affected", number_at(figures, 2)},
                          {"surplus_shifts", number_at(figures, 3)}};
    }
    {
        // Orphaned shifts, whatever their event's status: no requirement, or a deleted one.
        const std::string sql = fmt::format(
            "SELECT COUNT(*) FROM {s_table} s WHERE s.{s_req} IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM {r_table} r WHERE r.{r_id} = s.{s_req})",
            fmt::arg("s_table", s.identifier("table")), fmt::arg("s_req", s.identifier("requirement_id")),
            fmt::arg("r_table", r.identifier("table")), fmt::arg("r_id", r.identifier("id")));
        const auto orphans = co_await context.session.query(sql, {}, 1);
        output.details.emplace_back("orphaned_shifts", number_at(orphans, 0));
    }
    if (output.value > 0) {
        bound_values values(context.dialect);
        const std::string sql =
            gaps(values) +
            "SELECT role, SUM(needed - actual) AS missing FROM gaps WHERE actual < needed "
            "GROUP BY role ORDER BY missing DESC, role LIMIT 50";
        const auto roles = co_await context.session.query(sql, values.take(), 50);
        for (const auto& row : roles.rows)
            output.breakdown.push_back({db::to_string(row[0]), db::to_number(row[1]).value_or(0)});
    }
    if (output.value > 0 && context.max_samples > 0) {
        bound_values values(context.dialect);
        const std::string sql =
            gaps(values) +
            "SELECT event_id, title, role, needed, actual, needed - actual AS missing, "
            "CAST(requirement_id AS text) AS key FROM gaps "
            "WHERE actual < needed ORDER BY needed - actual DESC, event_id, requirement_id LIMIT " +
            std::to_string(context.max_samples);
        output.samples =
            rows_as_samples(co_await context.session.query(sql, values.take(), context.max_samples));
        normalise_sample_keys(output.samples);
    }
    if (output.value > 0) {
        // The offenders: every short requirement, by id, most missing first.
        bound_values values(context.dialect);
        const std::string sql = gaps(values) +
                                "SELECT CAST(requirement_id AS text) FROM gaps WHERE actual < needed "
                                "ORDER BY needed - actual DESC, " +
                                context.dialect.text_key("requirement_id") + " " + offender_limit(context);
        const auto keys = co_await context.session.query(sql, values.take(), context.max_tracked + 1);
        take_offenders(output, keys, 0, context);
    }
    co_return output;
}

std::string shift_coverage::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    (void)args;
    return fmt::format("Event {} {} \u2014 {} {}/{} ({} missing)", field_text(sample.value("event_id", nlohmann::ordered_json())),
                       field_text(sample.value("title", nlohmann::ordered_json())),
                       field_text(sample.value("role", nlohmann::ordered_json())),
                       field_text(sample.value("actual", nlohmann::ordered_json())),
                       field_text(sample.value("needed", nlohmann::ordered_json())),
                       field_text(sample.value("missing", nlohmann::ordered_json())));
}

const check_module& shift_coverage_module() {
    static const shift_coverage module;
    return module;
}

}  // namespace invariantd::checks
