#include "checks/unique_index.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace invariantd::checks {

std::string unique_index_query(std::string_view driver, const std::string& table, const nlohmann::json& key,
                               bound_values& values) {
    std::vector<std::string> columns;
    for (const auto& column : key) columns.push_back(column.get<std::string>());
    std::sort(columns.begin(), columns.end());
    if (driver == "postgres") {
        // Unique constraints are backed by unique indexes, so pg_index covers both. Only key
        // columns count (INCLUDE columns do not), expressions and partial indexes never do.
        const std::string regclass = values.bind(quote_identifier(table));
        const std::string wanted = values.bind("{" + fmt::format("{}", fmt::join(columns, ",")) + "}");
        return fmt::format(
            "SELECT COUNT(*) FROM pg_index i WHERE i.indrelid = to_regclass({}) AND i.indisunique "
            "AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = {} "
            "AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a "
            "WHERE a.attrelid = i.indrelid AND a.attnum = ANY((i.indkey::int2[])[0:i.indnkeyatts - 1])) "
            "= CAST({} AS text[])",
            regclass, columns.size(), wanted);
    }
    const auto dot = table.rfind('.');
    const std::string bare = dot == std::string::npos ? table : table.substr(dot + 1);
    const std::string schema = dot == std::string::npos ? "main" : table.substr(0, dot);
    // Positional "?" placeholders: values must be bound in the order the text uses them, and
    // the operands of one `+` chain are evaluated in no fixed order — so one bind per statement.
    std::string sql = "SELECT COUNT(*) FROM pragma_index_list(" + values.bind(bare);
    sql += ", " + values.bind(schema);
    sql += ") il WHERE il.\"unique\" = 1 AND il.partial = 0 AND (SELECT COUNT(*) FROM pragma_index_info(il.name, ";
    sql += values.bind(schema);
    sql += ")) = " + std::to_string(columns.size()) + " AND (SELECT COUNT(*) FROM pragma_index_info(il.name, ";
    sql += values.bind(schema);
    sql += ") ii WHERE ii.name IN (";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += values.bind(columns[i]);
    }
    sql += ")) = " + std::to_string(columns.size());
    return sql;
}

}  // namespace invariantd::checks
