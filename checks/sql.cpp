#include "checks/sql.hpp"

#include <fmt/format.h>

#include "checks/module_support.hpp"

namespace invariantd::checks {

const std::vector<param_spec>& sql_module::parameters() const {
    static const std::vector<param_spec> specs{
        {.name = "query", .kind = param_kind::sql, .required = true,
         .help = "one read-only statement (trusted SQL written by the operator)"},
        {.name = "mode", .kind = param_kind::choice, .default_value = "rows",
         .help = "rows: value = number of rows returned; scalar: value = first column of the single row",
         .choices = {"rows", "scalar"}},
        {.name = "group_column", .kind = param_kind::identifier,
         .help = "rows mode: break the row count down by this column of the result"},
    };
    return specs;
}

void sql_module::validate(const nlohmann::json& params, std::string_view, const YAML::Mark& where,
                          const problem_reporter& report) const {
    if (params["mode"] == "scalar" && !params["group_column"].is_null())
        report(where, "parameter 'group_column' applies to mode 'rows' only");
}

asio::awaitable<module_output> sql_module::run(const check_context& context) const {
    const std::string query = strip_statement_end(context.params["query"].get<std::string>());
    module_output output;
    if (context.params["mode"] == "scalar") {
        const db::rowset result = co_await context.session.query(query, {}, 1);
        if (result.row_count != 1 || result.columns.empty())
            throw db::error(db::error_kind::query,
                            fmt::format("scalar query must return exactly one row, it returned {}", result.row_count));
        const auto number = db::to_number(result.rows.front().front());
        if (!number)
            throw db::error(db::error_kind::query,
                            fmt::format("scalar query's first column '{}' is not a number (got {})",
                                        result.columns.front(), db::to_string(result.rows.front().front())));
        output.value = *number;
        co_return output;
    }

    const db::rowset result = co_await context.session.query(query, {}, context.max_samples);
    output.value = static_cast<double>(result.row_count);
    output.samples = rows_as_samples(result);
    if (const auto& group = context.params["group_column"]; !group.is_null() && result.row_count > 0) {
        // Grouped in the database, so a query with millions of rows is never shipped whole.
        const std::string grouped = fmt::format(
            "SELECT {0} AS invariantd_group, COUNT(*) AS invariantd_count FROM ({1}) AS invariantd_rows "
            "GROUP BY {0} ORDER BY COUNT(*) DESC LIMIT 50",
            quote_identifier(group.get<std::string>()), query);
        const db::rowset groups = co_await context.session.query(grouped, {}, 50);
        for (const auto& row : groups.rows) {
            output.breakdown.push_back({db::to_string(row[0]), db::to_number(row[1]).value_or(0)});
        }
    }
    co_return output;
}

}  // namespace invariantd::checks
