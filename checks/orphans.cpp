#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

namespace invariantd::checks {

namespace {

/// `orphans`: see checks/README.md for the statements it runs and the indexes it wants.
class orphans final : public basic_module {
public:
    orphans();
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

orphans::orphans()
    : basic_module(
          "orphans", "rows whose non-NULL reference matches no parent row, summed over relations",
          {
              {.name = "relations",
               .kind = param_kind::objects,
               .default_value = nlohmann::json::array({{{"child", "racks"},
                                                        {"column", "audit_session_id"},
                                                        {"parent", "audit_sessions"},
                                                        {"parent_column", "id"},
                                                        {"null_is_orphan", false}},
                                                       {{"child", "scans"},
                                                        {"column", "rack_id"},
                                                        {"parent", "racks"},
                                                        {"parent_column", "id"},
                                                        {"null_is_orphan", false}}}),
               .help = "child.column must match parent.parent_column",
               .fields = {{.name = "child", .kind = param_kind::identifier, .required = true},
                          {.name = "column", .kind = param_kind::identifier, .required = true},
                          {.name = "parent", .kind = param_kind::identifier, .required = true},
                          {.name = "parent_column", .kind = param_kind::identifier, .default_value = "id"},
                          {.name = "null_is_orphan", .kind = param_kind::boolean, .default_value = false}}},
              id_column_param("child row id in samples"),
          }) {}

asio::awaitable<module_output> orphans::run(const check_context& context) const {
    const auto& args = context.args;
    const std::string id = args.identifier("id_column");
    std::string counts;
    std::string samples;
    std::string keys;  // every orphan as "<child>.<column>:<id>"
    bound_values key_values(context.dialect);
    std::vector<std::string> names;
    std::size_t index = 0;
    for (const auto& relation : args.objects("relations")) {
        const std::string name = relation.text("child") + "." + relation.text("column");
        names.push_back(name);
        const std::string child = relation.identifier("child");
        const std::string column = relation.identifier("column");
        // NOT EXISTS, never NOT IN: NOT IN over a nullable column returns nothing at all as
        // soon as one NULL is present — the trap in the runbook's own query.
        const std::string dangling =
            fmt::format("NOT EXISTS (SELECT 1 FROM {} p WHERE p.{} = c.{})", relation.identifier("parent"),
                        relation.identifier("parent_column"), column);
        const std::string orphan = relation.flag("null_is_orphan")
                                       ? fmt::format("(c.{} IS NULL OR {})", column, dangling)
                                       : fmt::format("(c.{} IS NOT NULL AND {})", column, dangling);
        if (!counts.empty()) counts += " UNION ALL ";
        counts += fmt::format("SELECT {} AS relation, COUNT(*) AS orphans FROM {} c WHERE {}", index, child,
                              orphan);
        if (!samples.empty()) samples += " UNION ALL ";
        samples += fmt::format(
            "SELECT * FROM (SELECT {} AS relation, c.{} AS id, c.{} AS value FROM {} c WHERE {} ORDER BY "
            "c.{} LIMIT {}) AS r{}",
            index, id, column, child, orphan, id, context.max_samples, index);
        if (!keys.empty()) keys += " UNION ALL ";
        keys += fmt::format("SELECT {} || CAST(c.{} AS text) AS offender FROM {} c WHERE {}",
                            key_values.bind(name + ":"), id, child, orphan);
        ++index;
    }
    module_output output;
    const auto rows = co_await context.session.query(counts + " ORDER BY relation", {}, names.size());
    for (const auto& row : rows.rows) {
        const auto which = static_cast<std::size_t>(db::to_number(row[0]).value_or(0));
        const double found_orphans = db::to_number(row[1]).value_or(0);
        output.value += found_orphans;
        output.details.emplace_back(names.at(which), found_orphans);
        output.breakdown.push_back({names.at(which), found_orphans});
    }
    if (output.value > 0 && context.max_samples > 0) {
        const auto found =
            co_await context.session.query(samples + " ORDER BY relation, id", {}, context.max_samples);
        for (const auto& row : found.rows) {
            const auto which = static_cast<std::size_t>(db::to_number(row[0]).value_or(0));
            output.samples.push_back({{"relation", names.at(which)},
                                      {"id", to_json(row[1])},
                                      {"value", to_json(row[2])},
                                      {"key", offender_key(names.at(which) + ":" + db::to_string(row[1]))}});
        }
    }
    if (output.value > 0) {
        const std::string keys_sql = "SELECT offender FROM (" + keys + ") AS o ORDER BY " +
                                     context.dialect.text_key("offender") + " " + offender_limit(context);
        const auto found = co_await context.session.query(keys_sql, key_values.take(), context.max_tracked + 1);
        take_offenders(output, found, 0, context);
    }
    co_return output;
}

std::string orphans::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    (void)args;
    return fmt::format("{} row {} points at {}, which does not exist",
                       field_text(sample.value("relation", nlohmann::ordered_json())),
                       field_text(sample.value("id", nlohmann::ordered_json())),
                       field_text(sample.value("value", nlohmann::ordered_json())));
}

const check_module& orphans_module() {
    static const orphans module;
    return module;
}

}  // namespace invariantd::checks
