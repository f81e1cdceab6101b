#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

namespace invariantd::checks {

namespace {

/// `sync_failure_rate`: see checks/README.md for the statements it runs and the indexes it wants.
class sync_failure_rate final : public basic_module {
public:
    sync_failure_rate();
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

sync_failure_rate::sync_failure_rate()
    : basic_module("sync_failure_rate",
                   "failed / total syncs in the last window (alerting waits for min_total syncs)",
                   {
                       {.name = "table", .kind = param_kind::identifier, .default_value = "flex_sync_log"},
                       {.name = "time_column", .kind = param_kind::identifier, .default_value = "created_at"},
                       {.name = "failed_when",
                        .kind = param_kind::sql,
                        .default_value = "failed_count > 0",
                        .help = "trusted SQL condition marking a failed sync"},
                       {.name = "duration_column",
                        .kind = param_kind::identifier,
                        .default_value = "duration_ms",
                        .help = "null: no duration figures"},
                       {.name = "duration_unit",
                        .kind = param_kind::choice,
                        .default_value = "ms",
                        .choices = {"ms", "s"}},
                       {.name = "window", .kind = param_kind::duration, .default_value = 3600 * 1000},
                       {.name = "slow_after", .kind = param_kind::duration, .default_value = 10 * 1000},
                       {.name = "group_by",
                        .kind = param_kind::identifier,
                        .default_value = "department",
                        .help = "null: no breakdown"},
                       {.name = "min_total",
                        .kind = param_kind::integer,
                        .default_value = 10,
                        .help = "fewer syncs than this in the window: the alert condition counts as false"},
                       id_column_param("the row's id: its offender key and sample id"),
                   },
                   value_format::percent) {}

asio::awaitable<module_output> sync_failure_rate::run(const check_context& context) const {
    const auto& args = context.args;
    const auto& dialect = context.dialect;
    const std::string table = args.identifier("table");
    const std::string time = args.identifier("time_column");
    const std::string failed = "CASE WHEN (" + args.text("failed_when") + ") THEN 1 ELSE 0 END";
    const bool milliseconds = args.text("duration_unit") == "ms";
    const double slow_after = args.seconds("slow_after") * (milliseconds ? 1000.0 : 1.0);

    bound_values values(dialect);
    std::string duration_figures = ", 0, 0";
    if (args.given("duration_column")) {
        const std::string duration = args.identifier("duration_column");
        duration_figures = fmt::format(", COALESCE(SUM(CASE WHEN {} > {} THEN 1 ELSE 0 END), 0), MAX({})",
                                       duration, values.bind(slow_after), duration);
    }
    const std::string window = dialect.within_last(time, values, args.seconds("window"));
    const auto rows =
        co_await context.session.query(fmt::format("SELECT COUNT(*), COALESCE(SUM({}), 0){} FROM {} WHERE {}",
                                                   failed, duration_figures, table, window),
                                       values.take(), 1);
    module_output output;
    const double total = number_at(rows, 0);
    const double failures = number_at(rows, 1);
    output.value = total > 0 ? failures / total : 0;
    output.condition_suppressed = total < static_cast<double>(args.integer("min_total"));
    output.details = {{"syncs_total", total},
                      {"syncs_failed", failures},
                      {"slow_syncs", number_at(rows, 2)},
                      {"max_duration_seconds", number_at(rows, 3) / (milliseconds ? 1000.0 : 1.0)}};
    if (args.given("group_by") && total > 0) {
        bound_values group_values(dialect);
        const std::string group = args.identifier("group_by");
        const auto groups = co_await context.session.query(
            fmt::format(
                "SELECT {0}, CAST(SUM({1}) AS double precision) / COUNT(*) FROM {2} WHERE {3} GROUP BY {0} "
                "ORDER BY 2 DESC, 1 LIMIT 50",
                group, failed, table, dialect.within_last(time, group_values, args.seconds("window"))),
            group_values.take(), 50);
        for (const auto& row : groups.rows)
            output.breakdown.push_back({db::to_string(row[0]), db::to_number(row[1]).value_or(0)});
    }
    if (failures > 0) {
        // The offenders and the samples in one statement: failed syncs, newest first.
        bound_values row_values(dialect);
        const std::string id = args.identifier("id_column");
        const bool grouped = args.given("group_by");
        const std::string group_column = grouped ? ", " + args.identifier("group_by") : std::string();
        const std::size_t wanted = std::max(context.max_tracked + 1, context.max_samples);
        // Named, not built inside the co_await expression (the g++ 12 bug in daemon/README.md).
        const std::string sql = fmt::format(
            "SELECT CAST({0} AS text), {0}, {1}{2} FROM {3} WHERE {4} AND ({5}) ORDER BY {6} DESC, {7} LIMIT {8}", id,
            time, group_column, table, dialect.within_last(time, row_values, args.seconds("window")),
            args.text("failed_when"), dialect.epoch_of(time), dialect.text_key(id), wanted);
        const auto found = co_await context.session.query(sql, row_values.take(), wanted);
        take_offenders(output, found, 0, context);
        std::vector<std::string> fields{args.text("time_column")};
        if (grouped) fields.push_back(args.text("group_by"));
        output.samples = keyed_samples(found, fields, context.max_samples);
    }
    co_return output;
}

std::string sync_failure_rate::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    std::string line = fmt::format("sync {} failed at {}", field_text(sample.value("id", nlohmann::ordered_json())),
                                   field_text(sample.value(args.text("time_column"), nlohmann::ordered_json())));
    if (args.given("group_by") && sample.contains(args.text("group_by")))
        line += " (" + field_text(sample[args.text("group_by")]) + ")";
    return line;
}

const check_module& sync_failure_rate_module() {
    static const sync_failure_rate module;
    return module;
}

}  // namespace invariantd::checks
