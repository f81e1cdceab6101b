#include "checks/event_pairing.hpp"

#include <fmt/format.h>

#include "checks/module_support.hpp"

namespace invariantd::checks {

std::string_view event_pairing_module::summary() const {
    return "-CORE- events with no -Supervisor- event sharing their event number (and pairing problems)";
}

const std::vector<param_spec>& event_pairing_module::parameters() const {
    static const std::vector<param_spec> specs{
        {.name = "events", .kind = param_kind::object,
         .fields = {{.name = "table", .kind = param_kind::identifier, .default_value = "events"},
                    {.name = "ref", .kind = param_kind::identifier, .default_value = "project_ref_num"},
                    {.name = "name", .kind = param_kind::identifier, .default_value = "project_name"}}},
        {.name = "schedules", .kind = param_kind::object,
         .fields = {{.name = "table", .kind = param_kind::identifier, .default_value = "schedules"},
                    {.name = "ref", .kind = param_kind::identifier, .default_value = "event_ref_num"},
                    {.name = "start", .kind = param_kind::identifier, .default_value = "schedule_datetime"}}},
        {.name = "core_marker", .kind = param_kind::string, .default_value = "-CORE-", .help = "case-insensitive"},
        {.name = "supervisor_marker", .kind = param_kind::string, .default_value = "-Supervisor-", .help = "case-insensitive"},
        {.name = "number_length", .kind = param_kind::integer, .default_value = 6,
         .help = "the event number is the first N characters of the name"},
        {.name = "offset", .kind = param_kind::duration, .default_value = 2 * 3600 * 1000,
         .help = "the Supervisor starts this long after its CORE event"},
    };
    return specs;
}

void event_pairing_module::validate(const nlohmann::json& params, std::string_view, const YAML::Mark& where,
                                    const problem_reporter& report) const {
    if (params["number_length"].is_number() && params["number_length"].get<std::int64_t>() < 1)
        report(where, "parameter 'number_length' must be at least 1");
}

asio::awaitable<module_output> event_pairing_module::run(const check_context& context) const {
    const auto& p = context.params;
    const auto q = [](const nlohmann::json& name) { return quote_identifier(name.get<std::string>()); };
    const auto& e = p["events"];
    const auto& s = p["schedules"];
    const bool postgres = context.driver == "postgres";
    const std::string contains = postgres ? "strpos(lower(e.{name}), lower({marker})) > 0"
                                          : "instr(lower(e.{name}), lower({marker})) > 0";
    const std::string start = "(SELECT MIN(s.{start}) FROM {s_table} s WHERE s.{s_ref} = e.{ref})";

    bound_values values(context.driver);
    auto marked = [&](const std::string& marker) {
        return fmt::format(
            fmt::runtime("SELECT e.{ref} AS ref, e.{name} AS name, substr(e.{name}, 1, {n}) AS number, " + start +
                         " AS starts_at FROM {e_table} e WHERE " + contains),
            fmt::arg("ref", q(e["ref"])), fmt::arg("name", q(e["name"])), fmt::arg("n", p["number_length"].get<std::int64_t>()),
            fmt::arg("start", q(s["start"])), fmt::arg("s_table", q(s["table"])), fmt::arg("s_ref", q(s["ref"])),
            fmt::arg("e_table", q(e["table"])), fmt::arg("marker", values.bind(p[marker].get<std::string>())));
    };
    const std::string core = marked("core_marker");
    const std::string supervisor = marked("supervisor_marker");
    const std::string misaligned =
        postgres ? fmt::format("NOT EXISTS (SELECT 1 FROM supervisor v WHERE v.number = c.number AND v.starts_at = "
                               "c.starts_at + CAST({} AS double precision) * interval '1 second')",
                               values.bind(seconds_param(p, "offset")))
                 : fmt::format("NOT EXISTS (SELECT 1 FROM supervisor v WHERE v.number = c.number AND abs({} - {} - {}) < 0.5)",
                               epoch_of(context.driver, "v.starts_at"), epoch_of(context.driver, "c.starts_at"),
                               values.bind(seconds_param(p, "offset")));
    // One row per CORE event with what is wrong with it, if anything. A CORE event that is
    // unscheduled counts nowhere, whatever its Supervisor does.
    const std::string classified = fmt::format(
        "WITH core AS ({}), supervisor AS ({}), classified AS ("
        "SELECT c.number, c.name, CASE "
        "WHEN NOT EXISTS (SELECT 1 FROM supervisor v WHERE v.number = c.number) THEN 'no_supervisor' "
        "WHEN c.starts_at IS NULL THEN NULL "
        "WHEN NOT EXISTS (SELECT 1 FROM supervisor v WHERE v.number = c.number AND v.starts_at IS NOT NULL) "
        "THEN 'supervisor_unscheduled' "
        "WHEN {} THEN 'misaligned' ELSE NULL END AS problem FROM core c) ",
        core, supervisor, misaligned);
    const auto bound = values.take();
    const auto figures = co_await context.session.query(
        classified + "SELECT COUNT(*), COALESCE(SUM(CASE WHEN problem = 'no_supervisor' THEN 1 ELSE 0 END), 0), "
                     "COALESCE(SUM(CASE WHEN problem = 'supervisor_unscheduled' THEN 1 ELSE 0 END), 0), "
                     "COALESCE(SUM(CASE WHEN problem = 'misaligned' THEN 1 ELSE 0 END), 0) FROM classified",
        bound, 1);
    module_output output;
    output.value = number_at(figures, 1);
    output.details = {{"core_events", number_at(figures, 0)},
                      {"orphan_core_events", number_at(figures, 1)},
                      {"unscheduled_supervisors", number_at(figures, 2)},
                      {"misaligned_supervisors", number_at(figures, 3)}};
    if (number_at(figures, 1) + number_at(figures, 2) + number_at(figures, 3) > 0 && context.max_samples > 0) {
        const auto rows = co_await context.session.query(
            classified + "SELECT number AS event_number, name AS core_name, problem FROM classified "
                         "WHERE problem IS NOT NULL ORDER BY CASE problem WHEN 'no_supervisor' THEN 0 "
                         "WHEN 'supervisor_unscheduled' THEN 1 ELSE 2 END, number LIMIT " +
                std::to_string(context.max_samples),
            bound, context.max_samples);
        output.samples = rows_as_samples(rows);
    }
    co_return output;
}

}  // namespace invariantd::checks
