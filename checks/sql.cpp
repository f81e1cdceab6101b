#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

#include <algorithm>

namespace invariantd::checks {

namespace {

/// `sql`: see checks/README.md for the statements it runs and the indexes it wants.
class sql final : public basic_module {
public:
    sql();
    void validate(const module_args& args, db::driver_kind driver, const YAML::Mark& where,
                  const problem_reporter& report) const override;
    asio::awaitable<module_output> run(const check_context& context) const override;
    bool names_offenders(const module_args& args) const override { return args.text("mode") != "scalar"; }
};

}  // namespace

sql::sql()
    : basic_module(
          "sql",
          "your own read-only query: a scalar value, or the number of offending rows with them as samples",
          {
              {.name = "query",
               .kind = param_kind::sql,
               .required = true,
               .help = "one read-only statement (trusted SQL written by the operator)"},
              {.name = "mode",
               .kind = param_kind::choice,
               .default_value = "rows",
               .help =
                   "rows: value = number of rows returned; scalar: value = first column of the single row",
               .choices = {"rows", "scalar"}},
              {.name = "group_column",
               .kind = param_kind::identifier,
               .help = "rows mode: break the row count down by this column of the result"},
                       {.name = "key_columns",
                        .kind = param_kind::identifiers,
                        .help = "rows mode: the columns that name a row (its offender key); null: every column"},
          }) {}

void sql::validate(const module_args& args, db::driver_kind, const YAML::Mark& where,
                   const problem_reporter& report) const {
    if (args.text("mode") == "scalar" && args.given("group_column"))
        report(where, "parameter 'group_column' applies to mode 'rows' only");
    if (args.text("mode") == "scalar" && args.given("key_columns"))
        report(where, "parameter 'key_columns' applies to mode 'rows' only");
}

asio::awaitable<module_output> sql::run(const check_context& context) const {
    const auto& args = context.args;
    const std::string query = strip_statement_end(args.text("query"));
    module_output output;
    if (args.text("mode") == "scalar") {
        context.session.last_query_next();
        const db::rowset result = co_await context.session.query(query, {}, 1);
        if (result.row_count != 1 || result.columns.empty())
            throw db::error(
                db::error_kind::query,
                fmt::format("scalar query must return exactly one row, it returned {}", result.row_count));
        const auto number = db::to_number(result.rows.front().front());
        if (!number)
            throw db::error(db::error_kind::query,
                            fmt::format("scalar query's first column '{}' is not a number (got {})",
                                        result.columns.front(), db::to_string(result.rows.front().front())));
        output.value = *number;
        co_return output;
    }

    // Enough rows for the samples and the offenders; the query's order is the offenders' order.
    if (!args.given("group_column")) context.session.last_query_next();
    db::rowset result =
        co_await context.session.query(query, {}, std::max(context.max_samples, context.max_tracked + 1));
    output.value = static_cast<double>(result.row_count);
    std::vector<std::size_t> key_at;
    if (args.given("key_columns")) {
        for (const auto& name : args.names("key_columns")) {
            const auto found = std::find(result.columns.begin(), result.columns.end(), name);
            if (found == result.columns.end())
                throw db::error(db::error_kind::query,
                                fmt::format("key_columns: the query returns no column '{}'", name));
            key_at.push_back(static_cast<std::size_t>(found - result.columns.begin()));
        }
    } else {
        for (std::size_t i = 0; i < result.columns.size(); ++i) key_at.push_back(i);
    }
    db::rowset keys;
    keys.row_count = result.row_count;
    for (const auto& row : result.rows) {
        std::vector<db::value> values;
        for (const auto at : key_at) values.push_back(row[at]);
        keys.rows.push_back({json_array_key(values)});
    }
    take_offenders(output, keys, 0, context);
    if (result.rows.size() > context.max_samples) result.rows.resize(context.max_samples);
    output.samples = rows_as_samples(result);
    for (std::size_t i = 0; i < output.samples.size(); ++i)
        output.samples[i]["key"] = offender_key(db::to_string(keys.rows[i][0]));
    if (args.given("group_column") && result.row_count > 0) {
        // Grouped in the database, so a query with millions of rows is never shipped whole.
        const std::string grouped = fmt::format(
            "SELECT {0} AS invariantd_group, COUNT(*) AS invariantd_count FROM ({1}) AS invariantd_rows "
            "GROUP BY {0} ORDER BY COUNT(*) DESC LIMIT 50",
            args.identifier("group_column"), query);
        const db::rowset groups = co_await context.session.query(grouped, {}, 50);
        for (const auto& row : groups.rows) {
            output.breakdown.push_back({db::to_string(row[0]), db::to_number(row[1]).value_or(0)});
        }
    }
    co_return output;
}

const check_module& sql_module() {
    static const sql module;
    return module;
}

}  // namespace invariantd::checks
