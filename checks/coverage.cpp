#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

namespace invariantd::checks {

namespace {

/// `coverage`: see checks/README.md for the statements it runs and the indexes it wants.
class coverage final : public basic_module {
public:
    coverage();
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

coverage::coverage()
    : basic_module("coverage",
                   "percentage (0–100) of recent rows whose column is not NULL (100 when there were none)",
                   {
                       {.name = "table", .kind = param_kind::identifier, .default_value = "sales"},
                       {.name = "column",
                        .kind = param_kind::identifier,
                        .default_value = "server_id",
                        .help = "must not be NULL"},
                       {.name = "time_column", .kind = param_kind::identifier, .default_value = "created_at"},
                       {.name = "window",
                        .kind = param_kind::duration,
                        .default_value = 24 * 3600 * 1000,
                        .help = "rows this recent count"},
                       where_param(),
                       id_column_param("the row's id: its offender key and sample id"),
                   },
                   value_format::percent100) {}

asio::awaitable<module_output> coverage::run(const check_context& context) const {
    const auto& args = context.args;
    bound_values values(context.dialect);
    const std::string sql = fmt::format(
        "SELECT COUNT(*), COUNT({}) FROM {} WHERE {}{}", args.identifier("column"), args.identifier("table"),
        context.dialect.within_last(args.identifier("time_column"), values, args.seconds("window")),
        args.and_sql("where"));
    const auto rows = co_await context.session.query(sql, values.take(), 1);
    module_output output;
    const double total = number_at(rows, 0);
    const double covered = number_at(rows, 1);
    output.value = total > 0 ? 100.0 * covered / total : 100.0;
    output.details = {{"rows_total", total}, {"rows_covered", covered}};
    if (covered < total) {
        // The offenders and the samples in one statement: uncovered rows, newest first.
        bound_values row_values(context.dialect);
        const std::string id = args.identifier("id_column");
        const std::string time = args.identifier("time_column");
        const std::size_t wanted = std::max(context.max_tracked + 1, context.max_samples);
        const std::string rows_sql = fmt::format(
            "SELECT CAST({0} AS text), {0}, {1} FROM {2} WHERE {3}{4} AND {5} IS NULL ORDER BY {6} DESC, {7} LIMIT {8}",
            id, time, args.identifier("table"), context.dialect.within_last(time, row_values, args.seconds("window")),
            args.and_sql("where"), args.identifier("column"), context.dialect.epoch_of(time),
            context.dialect.text_key(id), wanted);
        const auto found = co_await context.session.query(rows_sql, row_values.take(), wanted);
        take_offenders(output, found, 0, context);
        output.samples = keyed_samples(found, {args.text("time_column")}, context.max_samples);
    }
    co_return output;
}

std::string coverage::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    return fmt::format("row {} ({} {}) has no {}", field_text(sample.value("id", nlohmann::ordered_json())),
                       args.text("time_column"), field_text(sample.value(args.text("time_column"), nlohmann::ordered_json())),
                       args.text("column"));
}

const check_module& coverage_module() {
    static const coverage module;
    return module;
}

}  // namespace invariantd::checks
