#include "checks/backlog.hpp"

#include <fmt/format.h>

#include "checks/module_support.hpp"

namespace invariantd::checks {

std::string_view backlog_module::summary() const {
    return "rows still pending (pending_column IS NULL) and older than max_age";
}

const std::vector<param_spec>& backlog_module::parameters() const {
    static const std::vector<param_spec> specs{
        {.name = "table", .kind = param_kind::identifier, .default_value = "scans"},
        {.name = "pending_column", .kind = param_kind::identifier, .default_value = "synced_at",
         .help = "NULL while the row is pending"},
        {.name = "age_column", .kind = param_kind::identifier, .default_value = "created_at"},
        {.name = "max_age", .kind = param_kind::duration, .default_value = 5 * 60 * 1000,
         .help = "pending rows older than this are stuck"},
        {.name = "where", .kind = param_kind::sql, .help = "optional trusted SQL fragment limiting the rows"},
    };
    return specs;
}

asio::awaitable<module_output> backlog_module::run(const check_context& context) const {
    const auto& p = context.params;
    const std::string age = quote_identifier(p["age_column"].get<std::string>());
    bound_values values(context.driver);
    const std::string stuck = older_than(context.driver, age, values, seconds_param(p, "max_age"));
    const std::string sql = fmt::format(
        "SELECT COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0), COUNT(*), {} - MIN({}) FROM {} WHERE {} IS NULL{}", stuck,
        epoch_now(context.driver), epoch_of(context.driver, age), quote_identifier(p["table"].get<std::string>()),
        quote_identifier(p["pending_column"].get<std::string>()), and_where(p["where"]));
    const auto rows = co_await context.session.query(sql, values.take(), 1);
    module_output output;
    output.value = number_at(rows, 0);
    output.details = {{"pending_total", number_at(rows, 1)}, {"oldest_age_seconds", std::max(0.0, number_at(rows, 2))}};
    co_return output;
}

}  // namespace invariantd::checks
