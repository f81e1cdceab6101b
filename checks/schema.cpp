#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checks/module_support.hpp"
#include "checks/modules.hpp"

#include <algorithm>

namespace invariantd::checks {

namespace {

/// `schema`: see checks/README.md for the statements it runs and the indexes it wants.
class schema final : public basic_module {
public:
    schema();
    void validate(const module_args& args, db::driver_kind driver, const YAML::Mark& where,
                  const problem_reporter& report) const override;
    asio::awaitable<module_output> run(const check_context& context) const override;
    std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const override;
};

}  // namespace

schema::schema()
    : basic_module(
          "schema",
          "number of unmet schema expectations: unique constraints, indexes, RLS, foreign keys (postgres "
          "only)",
          {
              {.name = "expectations",
               .kind = param_kind::objects,
               .default_value = nlohmann::json::array(),
               .help = "each exactly one of unique, index, rls_enabled, foreign_key",
               .fields =
                   {{.name = "unique",
                     .kind = param_kind::object,
                     .nullable = true,
                     .fields = {{.name = "table", .kind = param_kind::identifier, .required = true},
                                {.name = "columns", .kind = param_kind::identifiers, .required = true}}},
                    {.name = "index",
                     .kind = param_kind::object,
                     .nullable = true,
                     .fields = {{.name = "table", .kind = param_kind::identifier, .required = true},
                                {.name = "name", .kind = param_kind::string, .required = true}}},
                    {.name = "rls_enabled", .kind = param_kind::identifier},
                    {.name = "foreign_key",
                     .kind = param_kind::object,
                     .nullable = true,
                     .fields = {{.name = "table", .kind = param_kind::identifier, .required = true},
                                {.name = "column", .kind = param_kind::identifier, .required = true},
                                {.name = "on_delete",
                                 .kind = param_kind::choice,
                                 .choices = {"SET NULL", "CASCADE", "RESTRICT", "NO ACTION",
                                             "SET DEFAULT"}}}}}},
          }) {}

void schema::validate(const module_args& args, db::driver_kind driver, const YAML::Mark& where,
                      const problem_reporter& report) const {
    if (driver != db::driver_kind::postgres)
        report(where, "module 'schema' reads the PostgreSQL catalog; its database must use driver postgres");
    std::size_t index = 0;
    for (const auto& expectation : args.objects("expectations")) {
        int given = 0;
        for (const char* kind : {"unique", "index", "rls_enabled", "foreign_key"})
            given += expectation.given(kind) ? 1 : 0;
        if (given != 1)
            report(where,
                   fmt::format(
                       "expectations[{}] must name exactly one of unique, index, rls_enabled, foreign_key",
                       index));
        ++index;
    }
}

namespace {

char delete_action_code(const std::string& action) {
    if (action == "SET NULL") return 'n';
    if (action == "CASCADE") return 'c';
    if (action == "RESTRICT") return 'r';
    if (action == "SET DEFAULT") return 'd';
    return 'a';  // NO ACTION
}

}  // namespace

asio::awaitable<module_output> schema::run(const check_context& context) const {
    module_output output;
    for (const auto& expectation : context.args.objects("expectations")) {
        bound_values values(context.dialect);
        std::string detail;
        std::string sql;
        if (expectation.given("unique")) {
            const auto unique = expectation.object("unique");
            const auto columns = unique.names("columns");
            detail = fmt::format("unique:{}({})", unique.text("table"), fmt::join(columns, ","));
            sql = context.dialect.unique_index_count(unique.text("table"), columns, values);
        } else if (expectation.given("index")) {
            const auto index = expectation.object("index");
            detail = fmt::format("index:{}.{}", index.text("table"), index.text("name"));
            sql = fmt::format(
                "SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = to_regclass({}) AND c.relname = {}",
                values.bind(index.identifier("table")), values.bind(index.text("name")));
        } else if (expectation.given("rls_enabled")) {
            detail = "rls_enabled:" + expectation.text("rls_enabled");
            sql = fmt::format("SELECT COUNT(*) FROM pg_class WHERE oid = to_regclass({}) AND relrowsecurity",
                              values.bind(expectation.identifier("rls_enabled")));
        } else {
            const auto key = expectation.object("foreign_key");
            detail = fmt::format("foreign_key:{}.{}", key.text("table"), key.text("column"));
            const std::string table = values.bind(key.identifier("table"));
            const std::string column = values.bind(key.text("column"));
            std::string action;
            if (key.given("on_delete"))
                action = " AND con.confdeltype = " +
                         values.bind(std::string(1, delete_action_code(key.text("on_delete"))));
            sql = fmt::format(
                "SELECT COUNT(*) FROM pg_constraint con WHERE con.conrelid = to_regclass({}) "
                "AND con.contype = 'f' AND cardinality(con.conkey) = 1 AND (SELECT a.attname::text FROM "
                "pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) = {}{}",
                table, column, action);
        }
        const auto rows = co_await context.session.query(sql, values.take(), 1);
        const double met = number_at(rows, 0) > 0 ? 1 : 0;
        output.details.emplace_back(detail, met);
        if (met == 0) {
            output.value += 1;
            if (output.samples.size() < context.max_samples)
                output.samples.push_back({{"expectation", detail}, {"met", false}, {"key", offender_key(detail)}});
            output.offenders.push_back(offender_key(detail));
        }
    }
    // Every unmet expectation weighs the same: byte order of the keys.
    std::sort(output.offenders.begin(), output.offenders.end());
    if (output.offenders.size() > context.max_tracked) {
        output.offenders.resize(context.max_tracked);
        output.offenders_truncated = true;
    }
    co_return output;
}

std::string schema::sample_line(const nlohmann::ordered_json& sample, const module_args& args) const {
    (void)args;
    return "unmet: " + field_text(sample.value("expectation", nlohmann::ordered_json()));
}

const check_module& schema_module() {
    static const schema module;
    return module;
}

}  // namespace invariantd::checks
