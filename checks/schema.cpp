#include "checks/schema.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "checks/module_support.hpp"
#include "checks/unique_index.hpp"

namespace invariantd::checks {

std::string_view schema_module::summary() const {
    return "number of unmet schema expectations: unique constraints, indexes, RLS, foreign keys (postgres only)";
}

const std::vector<param_spec>& schema_module::parameters() const {
    static const std::vector<param_spec> specs{
        {.name = "expectations", .kind = param_kind::objects, .default_value = nlohmann::json::array(),
         .help = "each exactly one of unique, index, rls_enabled, foreign_key",
         .fields = {{.name = "unique", .kind = param_kind::object, .nullable = true,
                     .fields = {{.name = "table", .kind = param_kind::identifier, .required = true},
                                {.name = "columns", .kind = param_kind::identifiers, .required = true}}},
                    {.name = "index", .kind = param_kind::object, .nullable = true,
                     .fields = {{.name = "table", .kind = param_kind::identifier, .required = true},
                                {.name = "name", .kind = param_kind::string, .required = true}}},
                    {.name = "rls_enabled", .kind = param_kind::identifier},
                    {.name = "foreign_key", .kind = param_kind::object, .nullable = true,
                     .fields = {{.name = "table", .kind = param_kind::identifier, .required = true},
                                {.name = "column", .kind = param_kind::identifier, .required = true},
                                {.name = "on_delete", .kind = param_kind::choice,
                                 .choices = {"SET NULL", "CASCADE", "RESTRICT", "NO ACTION", "SET DEFAULT"}}}}}},
    };
    return specs;
}

void schema_module::validate(const nlohmann::json& params, std::string_view driver, const YAML::Mark& where,
                             const problem_reporter& report) const {
    if (driver != "postgres") report(where, "module 'schema' reads the PostgreSQL catalog; its database must use driver postgres");
    std::size_t index = 0;
    for (const auto& expectation : params["expectations"]) {
        int given = 0;
        for (const char* kind : {"unique", "index", "rls_enabled", "foreign_key"}) given += expectation[kind].is_null() ? 0 : 1;
        if (given != 1)
            report(where, fmt::format("expectations[{}] must name exactly one of unique, index, rls_enabled, foreign_key", index));
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

asio::awaitable<module_output> schema_module::run(const check_context& context) const {
    module_output output;
    for (const auto& expectation : context.params["expectations"]) {
        bound_values values(context.driver);
        std::string detail;
        std::string sql;
        if (!expectation["unique"].is_null()) {
            const auto& unique = expectation["unique"];
            std::vector<std::string> columns = unique["columns"].get<std::vector<std::string>>();
            detail = fmt::format("unique:{}({})", unique["table"].get<std::string>(), fmt::join(columns, ","));
            sql = unique_index_query(context.driver, unique["table"].get<std::string>(), unique["columns"], values);
        } else if (!expectation["index"].is_null()) {
            const auto& index = expectation["index"];
            detail = fmt::format("index:{}.{}", index["table"].get<std::string>(), index["name"].get<std::string>());
            const std::string table = values.bind(quote_identifier(index["table"].get<std::string>()));
            sql = fmt::format("SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                              "WHERE i.indrelid = to_regclass({}) AND c.relname = {}",
                              table, values.bind(index["name"].get<std::string>()));
        } else if (!expectation["rls_enabled"].is_null()) {
            const std::string table = expectation["rls_enabled"].get<std::string>();
            detail = "rls_enabled:" + table;
            sql = fmt::format("SELECT COUNT(*) FROM pg_class WHERE oid = to_regclass({}) AND relrowsecurity",
                              values.bind(quote_identifier(table)));
        } else {
            const auto& key = expectation["foreign_key"];
            detail = fmt::format("foreign_key:{}.{}", key["table"].get<std::string>(), key["column"].get<std::string>());
            const std::string table = values.bind(quote_identifier(key["table"].get<std::string>()));
            const std::string column = values.bind(key["column"].get<std::string>());
            std::string action;
            if (!key["on_delete"].is_null())
                action = " AND con.confdeltype = " + values.bind(std::string(1, delete_action_code(key["on_delete"])));
            sql = fmt::format("SELECT COUNT(*) FROM pg_constraint con WHERE con.conrelid = to_regclass({}) "
                              "AND con.contype = 'f' AND cardinality(con.conkey) = 1 AND (SELECT a.attname::text FROM "
                              "pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) = {}{}",
                              table, column, action);
        }
        const auto rows = co_await context.session.query(sql, values.take(), 1);
        const double met = number_at(rows, 0) > 0 ? 1 : 0;
        output.details.emplace_back(detail, met);
        if (met == 0) {
            output.value += 1;
            if (output.samples.size() < context.max_samples) output.samples.push_back({{"expectation", detail}, {"met", false}});
        }
    }
    co_return output;
}

}  // namespace invariantd::checks
