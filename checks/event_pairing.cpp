#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

#include <algorithm>

namespace invariantd::checks {

namespace {

/// `event_pairing`: see checks/README.md for the statements it runs and the indexes it wants.
class event_pairing final : public basic_module {
public:
    event_pairing();
    void validate(const module_args& args, db::driver_kind driver, const YAML::Mark& where,
                  const problem_reporter& report) const override;
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

event_pairing::event_pairing()
    : basic_module(
          "event_pairing",
          "-CORE- events with no -Supervisor- event sharing their event number (and pairing problems)",
          {
              {.name = "events",
               .kind = param_kind::object,
               .fields = {{.name = "table", .kind = param_kind::identifier, .default_value = "events"},
                          {.name = "ref", .kind = param_kind::identifier, .default_value = "project_ref_num"},
                          {.name = "name", .kind = param_kind::identifier, .default_value = "project_name"}}},
              {.name = "schedules",
               .kind = param_kind::object,
               .fields =
                   {{.name = "table", .kind = param_kind::identifier, .default_value = "schedules"},
                    {.name = "ref", .kind = param_kind::identifier, .default_value = "event_ref_num"},
                    {.name = "start", .kind = param_kind::identifier, .default_value = "schedule_datetime"}}},
              {.name = "core_marker",
               .kind = param_kind::string,
               .default_value = "-CORE-",
               .help = "case-insensitive"},
              {.name = "supervisor_marker",
               .kind = param_kind::string,
               .default_value = "-Supervisor-",
               .help = "case-insensitive"},
              {.name = "number_length",
               .kind = param_kind::integer,
               .default_value = 6,
               .help = "the event number is the first N characters of the name"},
              {.name = "offset",
               .kind = param_kind::duration,
               .default_value = 2 * 3600 * 1000,
               .help = "the Supervisor starts this long after its CORE event"},
          }) {}

void event_pairing::validate(const module_args& args, db::driver_kind, const YAML::Mark& where,
                             const problem_reporter& report) const {
    if (args.json("number_length").is_number() && args.integer("number_length") < 1)
        report(where, "parameter 'number_length' must be at least 1");
}

asio::awaitable<module_output> event_pairing::run(const check_context& context) const {
    const auto& args = context.args;
    const auto& dialect = context.dialect;
    const auto e = args.object("events");
    const auto s = args.object("schedules");

    bound_values values(dialect);
    // Events carrying a marker, with their event number and first scheduled start. Schedules
    // are aggregated once (GROUP BY) and joined, never looked up per event.
    auto marked = [&](const char* marker) {
        const std::string name = "e." + e.identifier("name");
        return fmt::format(
            "SELECT e.{0} AS ref, {1} AS name, substr({1}, 1, {2}) AS number, st.starts_at "
            "FROM {3} e LEFT JOIN starts st ON st.ref = e.{0} WHERE {4}",
            e.identifier("ref"), name, args.integer("number_length"), e.identifier("table"),
            dialect.contains(name, values.bind(args.text(marker))));
    };
    const std::string starts =
        fmt::format("SELECT s.{0} AS ref, MIN(s.{1}) AS starts_at FROM {2} s GROUP BY s.{0}",
                    s.identifier("ref"), s.identifier("start"), s.identifier("table"));
    const std::string core = marked("core_marker");
    const std::string supervisor = marked("supervisor_marker");
    // CORE events whose Supervisor starts exactly `offset` later: a join on the event number
    // (hash join), then the time comparison within each number's few rows.
    const std::string aligned =
        "SELECT DISTINCT c.ref FROM core c JOIN supervisor v ON v.number = c.number WHERE " +
        dialect.exactly_after("v.starts_at", "c.starts_at", values, args.seconds("offset"));
    // One row per CORE event with what is wrong with it, if anything. A CORE event that is
    // unscheduled counts nowhere, whatever its Supervisor does.
    const std::string classified = fmt::format(
        "WITH starts AS ({}), core AS ({}), supervisor AS ({}), "
        "supervisors AS (SELECT number, COUNT(starts_at) AS scheduled FROM supervisor GROUP BY number), "
        "aligned AS ({}), classified AS ("
        "SELECT c.number, c.name, CASE "
        "WHEN sv.number IS NULL THEN 'no_supervisor' "
        "WHEN c.starts_at IS NULL THEN NULL "
        "WHEN sv.scheduled = 0 THEN 'supervisor_unscheduled' "
        "WHEN a.ref IS NULL THEN 'misaligned' ELSE NULL END AS problem "
        "FROM core c LEFT JOIN supervisors sv ON sv.number = c.number LEFT JOIN aligned a ON a.ref = c.ref) ",
        starts, core, supervisor, aligned);
    const auto bound = values.take();
    const auto figures = co_await context.session.query(
        classified +
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN problem = 'no_supervisor' THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN problem = 'supervisor_unscheduled' THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(CASE WHEN problem = 'misaligned' THEN 1 ELSE 0 END), 0) FROM classified",
        bound, 1);
    module_output output;
    output.value = number_at(figures, 1);
    output.details = {{"core_events", number_at(figures, 0)},
                      {"orphan_core_events", number_at(figures, 1)},
                      {"unscheduled_supervisors", number_at(figures, 2)},
                      {"misaligned_supervisors", number_at(figures, 3)}};
    if (number_at(figures, 1) + number_at(figures, 2) + number_at(figures, 3) > 0 &&
        context.max_samples > 0) {
        const auto rows = co_await context.session.query(
            classified +
                "SELECT number AS event_number, name AS core_name, problem, CAST(number AS text) AS key "
                "FROM classified "
                "WHERE problem IS NOT NULL ORDER BY CASE problem WHEN 'no_supervisor' THEN 0 "
                "WHEN 'supervisor_unscheduled' THEN 1 ELSE 2 END, number LIMIT " +
                std::to_string(context.max_samples),
            bound, context.max_samples);
        output.samples = rows_as_samples(rows);
        normalise_sample_keys(output.samples);
    }
    if (number_at(figures, 1) + number_at(figures, 2) + number_at(figures, 3) > 0) {
        // The offenders: every CORE event number with a problem, the worst problem first.
        const std::string numbers_sql =
            classified +
            "SELECT CAST(number AS text) FROM classified WHERE problem IS NOT NULL GROUP BY number "
            "ORDER BY MIN(CASE problem WHEN 'no_supervisor' THEN 0 WHEN 'supervisor_unscheduled' THEN 1 ELSE 2 END), " +
            context.dialect.text_key("number") + " " + offender_limit(context);
        const auto numbers = co_await context.session.query(numbers_sql, bound, context.max_tracked + 1);
        take_offenders(output, numbers, 0, context);
    }
    co_return output;
}

std::string event_pairing::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    (void)args;
    std::string problem = field_text(sample.value("problem", nlohmann::ordered_json()));
    std::replace(problem.begin(), problem.end(), '_', ' ');
    return fmt::format("Event {} {}: {}", field_text(sample.value("event_number", nlohmann::ordered_json())),
                       field_text(sample.value("core_name", nlohmann::ordered_json())), problem);
}

const check_module& event_pairing_module() {
    static const event_pairing module;
    return module;
}

}  // namespace invariantd::checks
