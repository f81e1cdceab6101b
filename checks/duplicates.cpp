#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

namespace invariantd::checks {

namespace {

/// `duplicates`: see checks/README.md for the statements it runs and the indexes it wants.
class duplicates final : public basic_module {
public:
    duplicates();
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

duplicates::duplicates()
    : basic_module(
          "duplicates",
          "excess rows: Σ (count − 1) over groups of rows with an equal key, and whether a unique constraint "
          "exists",
          {
              {.name = "table", .kind = param_kind::identifier, .default_value = "flex_crew_assignments"},
              {.name = "key",
               .kind = param_kind::identifiers,
               .default_value = nlohmann::json::array({"crew_call_id", "technician_id"}),
               .help = "columns that must be unique together"},
              id_column_param("row id listed in samples"),
              where_param(),
          }) {}

asio::awaitable<module_output> duplicates::run(const check_context& context) const {
    const auto& args = context.args;
    const std::string table = args.identifier("table");
    const std::vector<std::string> key = args.identifiers("key");
    const std::vector<std::string> key_names = args.names("key");
    const std::string key_list = fmt::format("{}", fmt::join(key, ", "));
    const auto filter = args.sql("where");
    const std::string where = filter ? " WHERE (" + *filter + ")" : "";

    module_output output;
    const auto figures = co_await context.session.query(
        fmt::format(
            "SELECT COUNT(*), COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM {} {} GROUP BY {} "
            "HAVING COUNT(*) > 1) AS duplicate_groups",
            table, where, key_list),
        {}, 1);
    output.value = number_at(figures, 1);
    output.details = {{"duplicate_groups", number_at(figures, 0)}, {"excess_rows", number_at(figures, 1)}};

    bound_values values(context.dialect);
    const std::string unique_sql = context.dialect.unique_index_count(args.text("table"), key_names, values);
    const auto unique = co_await context.session.query(unique_sql, values.take(), 1);
    output.details.emplace_back("unique_constraint_present", number_at(unique, 0) > 0 ? 1 : 0);

    if (output.value > 0 && context.max_samples > 0) {
        const std::string ids = context.dialect.string_agg(args.identifier("id_column"));
        std::string selected;
        for (std::size_t i = 0; i < key.size(); ++i) selected += fmt::format("{} AS k{}, ", key[i], i);
        const auto rows = co_await context.session.query(
            fmt::format("SELECT {}COUNT(*) AS n, {} AS ids FROM {} {} GROUP BY {} HAVING COUNT(*) > 1 "
                        "ORDER BY COUNT(*) DESC, {} LIMIT {}",
                        selected, ids, table, where, key_list, key_list, context.max_samples),
            {}, context.max_samples);
        for (const auto& row : rows.rows) {
            nlohmann::ordered_json sample = nlohmann::ordered_json::object();
            for (std::size_t i = 0; i < key.size(); ++i) sample[key_names[i]] = to_json(row[i]);
            sample["count"] = to_json(row[key.size()]);
            nlohmann::ordered_json id_list = nlohmann::ordered_json::array();
            const std::string joined = db::to_string(row[key.size() + 1]);
            for (std::size_t start = 0; start <= joined.size();) {
                const auto comma = std::min(joined.find(',', start), joined.size());
                const std::string one = joined.substr(start, comma - start);
                if (auto number = db::to_number(db::value(one)))
                    id_list.push_back(static_cast<std::int64_t>(*number));
                else
                    id_list.push_back(one);
                start = comma + 1;
            }
            sample["ids"] = std::move(id_list);
            sample["key"] = offender_key(
                json_array_key(std::vector<db::value>(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(key.size()))));
            output.samples.push_back(std::move(sample));
        }
    }
    if (output.value > 0) {
        // The offenders: every duplicate group, by its key values, largest first.
        std::string order;
        for (const auto& column : key) order += ", " + context.dialect.text_key(column);
        const std::string groups_sql =
            fmt::format("SELECT {} FROM {} {} GROUP BY {} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC{} {}", key_list,
                        table, where, key_list, order, offender_limit(context));
        const auto groups = co_await context.session.query(groups_sql, {}, context.max_tracked + 1);
        db::rowset keys;
        keys.row_count = groups.row_count;
        for (const auto& row : groups.rows) keys.rows.push_back({json_array_key(row)});
        take_offenders(output, keys, 0, context);
    }
    co_return output;
}

std::string duplicates::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    std::string line;
    for (const auto& column : args.names("key")) {
        if (!line.empty()) line += ", ";
        line += column + "=" + field_text(sample.value(column, nlohmann::ordered_json()));
    }
    std::string ids;
    for (const auto& id : sample.value("ids", nlohmann::ordered_json::array())) ids += (ids.empty() ? "" : ", ") + field_text(id);
    return fmt::format("{}: {} rows (ids {})", line, field_text(sample.value("count", nlohmann::ordered_json())), ids);
}

const check_module& duplicates_module() {
    static const duplicates module;
    return module;
}

}  // namespace invariantd::checks
