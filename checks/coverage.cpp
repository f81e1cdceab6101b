#include "checks/coverage.hpp"

#include <fmt/format.h>

#include "checks/module_support.hpp"

namespace invariantd::checks {

std::string_view coverage_module::summary() const {
    return "percentage (0–100) of recent rows whose column is not NULL (100 when there were none)";
}

const std::vector<param_spec>& coverage_module::parameters() const {
    static const std::vector<param_spec> specs{
        {.name = "table", .kind = param_kind::identifier, .default_value = "sales"},
        {.name = "column", .kind = param_kind::identifier, .default_value = "server_id", .help = "must not be NULL"},
        {.name = "time_column", .kind = param_kind::identifier, .default_value = "created_at"},
        {.name = "window", .kind = param_kind::duration, .default_value = 24 * 3600 * 1000, .help = "rows this recent count"},
        {.name = "where", .kind = param_kind::sql, .help = "optional trusted SQL fragment limiting the rows"},
    };
    return specs;
}

asio::awaitable<module_output> coverage_module::run(const check_context& context) const {
    const auto& p = context.params;
    bound_values values(context.driver);
    const std::string sql = fmt::format(
        "SELECT COUNT(*), COUNT({}) FROM {} WHERE {}{}", quote_identifier(p["column"].get<std::string>()),
        quote_identifier(p["table"].get<std::string>()),
        within_last(context.driver, quote_identifier(p["time_column"].get<std::string>()), values, seconds_param(p, "window")),
        and_where(p["where"]));
    const auto rows = co_await context.session.query(sql, values.take(), 1);
    module_output output;
    const double total = number_at(rows, 0);
    const double covered = number_at(rows, 1);
    output.value = total > 0 ? 100.0 * covered / total : 100.0;
    output.details = {{"rows_total", total}, {"rows_covered", covered}};
    co_return output;
}

}  // namespace invariantd::checks
