#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd::checks {

namespace {

/// `backlog`: see checks/README.md for the statements it runs and the indexes it wants.
class backlog final : public basic_module {
public:
    backlog();
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

backlog::backlog()
    : basic_module("backlog", "rows still pending (pending_column IS NULL) and older than max_age",
                   {
                       {.name = "table", .kind = param_kind::identifier, .default_value = "scans"},
                       {.name = "pending_column",
                        .kind = param_kind::identifier,
                        .default_value = "synced_at",
                        .help = "NULL while the row is pending"},
                       {.name = "age_column", .kind = param_kind::identifier, .default_value = "created_at"},
                       {.name = "max_age",
                        .kind = param_kind::duration,
                        .default_value = 5 * 60 * 1000,
                        .help = "pending rows older than this are stuck"},
                       where_param(),
                       id_column_param("the row's id: its offender key and sample id"),
                   }) {}

asio::awaitable<module_output> backlog::run(const check_context& context) const {
    const auto& args = context.args;
    const auto& dialect = context.dialect;
    const std::string age = args.identifier("age_column");
    bound_values values(dialect);
    const std::string stuck = dialect.older_than(age, values, args.seconds("max_age"));
    const std::string sql = fmt::format(
        "SELECT COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0), COUNT(*), {} - MIN({}) FROM {} WHERE {} IS "
        "NULL{}",
        stuck, dialect.epoch_now(), dialect.epoch_of(age), args.identifier("table"),
        args.identifier("pending_column"), args.and_sql("where"));
    const auto rows = co_await context.session.query(sql, values.take(), 1);
    module_output output;
    output.value = number_at(rows, 0);
    output.details = {{"pending_total", number_at(rows, 1)},
                      {"oldest_age_seconds", std::max(0.0, number_at(rows, 2))}};
    if (output.value > 0) {
        // The offenders and the samples in one statement: stuck rows, oldest first.
        bound_values row_values(dialect);
        const std::string id = args.identifier("id_column");
        const std::string stuck_rows = dialect.older_than(age, row_values, args.seconds("max_age"));
        const std::size_t wanted = std::max(context.max_tracked + 1, context.max_samples);
        const std::string rows_sql = fmt::format(
            "SELECT CAST({0} AS text), {0}, {1} - {2} FROM {3} WHERE {4} IS NULL AND {5}{6} ORDER BY {2}, {7} LIMIT {8}",
            id, dialect.epoch_now(), dialect.epoch_of(age), args.identifier("table"), args.identifier("pending_column"),
            stuck_rows, args.and_sql("where"), dialect.text_key(id), wanted);
        const auto found = co_await context.session.query(rows_sql, row_values.take(), wanted);
        take_offenders(output, found, 0, context);
        for (std::size_t i = 0; i < found.rows.size() && i < context.max_samples; ++i) {
            const auto& row = found.rows[i];
            output.samples.push_back({{"id", to_json(row[1])},
                                      {"age_seconds", std::max(0.0, db::to_number(row[2]).value_or(0))},
                                      {"key", offender_key(db::to_string(row[0]))}});
        }
    }
    co_return output;
}

std::string backlog::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    (void)args;
    const double age = sample.value("age_seconds", 0.0);
    return fmt::format("row {} pending for {}", field_text(sample.value("id", nlohmann::ordered_json())),
                       format_age(duration(static_cast<std::int64_t>(age * 1000))));
}

const check_module& backlog_module() {
    static const backlog module;
    return module;
}

}  // namespace invariantd::checks
