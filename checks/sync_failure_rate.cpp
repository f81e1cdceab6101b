#include "checks/sync_failure_rate.hpp"

#include <fmt/format.h>

#include "checks/module_support.hpp"

namespace invariantd::checks {

std::string_view sync_failure_rate_module::summary() const {
    return "failed / total syncs in the last window (alerting waits for min_total syncs)";
}

const std::vector<param_spec>& sync_failure_rate_module::parameters() const {
    static const std::vector<param_spec> specs{
        {.name = "table", .kind = param_kind::identifier, .default_value = "flex_sync_log"},
        {.name = "time_column", .kind = param_kind::identifier, .default_value = "created_at"},
        {.name = "failed_when", .kind = param_kind::sql, .default_value = "failed_count > 0",
         .help = "trusted SQL condition marking a failed sync"},
        {.name = "duration_column", .kind = param_kind::identifier, .default_value = "duration_ms",
         .help = "null: no duration figures"},
        {.name = "duration_unit", .kind = param_kind::choice, .default_value = "ms", .choices = {"ms", "s"}},
        {.name = "window", .kind = param_kind::duration, .default_value = 3600 * 1000},
        {.name = "slow_after", .kind = param_kind::duration, .default_value = 10 * 1000},
        {.name = "group_by", .kind = param_kind::identifier, .default_value = "department", .help = "null: no breakdown"},
        {.name = "min_total", .kind = param_kind::integer, .default_value = 10,
         .help = "fewer syncs than this in the window: the alert condition counts as false"},
    };
    return specs;
}

asio::awaitable<module_output> sync_failure_rate_module::run(const check_context& context) const {
    const auto& p = context.params;
    const std::string table = quote_identifier(p["table"].get<std::string>());
    const std::string time = quote_identifier(p["time_column"].get<std::string>());
    const std::string failed = "CASE WHEN (" + p["failed_when"].get<std::string>() + ") THEN 1 ELSE 0 END";
    const bool milliseconds = p["duration_unit"] == "ms";
    const double slow_after = seconds_param(p, "slow_after") * (milliseconds ? 1000.0 : 1.0);

    bound_values values(context.driver);
    std::string duration_figures = ", 0, 0";
    if (!p["duration_column"].is_null()) {
        const std::string duration = quote_identifier(p["duration_column"].get<std::string>());
        duration_figures = fmt::format(", COALESCE(SUM(CASE WHEN {} > {} THEN 1 ELSE 0 END), 0), MAX({})", duration,
                                       values.bind(slow_after), duration);
    }
    const std::string window = within_last(context.driver, time, values, seconds_param(p, "window"));
    const auto rows = co_await context.session.query(
        fmt::format("SELECT COUNT(*), COALESCE(SUM({}), 0){} FROM {} WHERE {}", failed, duration_figures, table, window),
        values.take(), 1);
    module_output output;
    const double total = number_at(rows, 0);
    const double failures = number_at(rows, 1);
    output.value = total > 0 ? failures / total : 0;
    output.condition_suppressed = total < static_cast<double>(p["min_total"].get<std::int64_t>());
    output.details = {{"syncs_total", total},
                      {"syncs_failed", failures},
                      {"slow_syncs", number_at(rows, 2)},
                      {"max_duration_seconds", number_at(rows, 3) / (milliseconds ? 1000.0 : 1.0)}};
    if (!p["group_by"].is_null() && total > 0) {
        bound_values group_values(context.driver);
        const std::string group = quote_identifier(p["group_by"].get<std::string>());
        const auto groups = co_await context.session.query(
            fmt::format("SELECT {0}, CAST(SUM({1}) AS double precision) / COUNT(*) FROM {2} WHERE {3} GROUP BY {0} "
                        "ORDER BY 2 DESC, 1 LIMIT 50",
                        group, failed, table, within_last(context.driver, time, group_values, seconds_param(p, "window"))),
            group_values.take(), 50);
        for (const auto& row : groups.rows)
            output.breakdown.push_back({db::to_string(row[0]), db::to_number(row[1]).value_or(0)});
    }
    co_return output;
}

}  // namespace invariantd::checks
