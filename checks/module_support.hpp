#pragma once
/// What the built-in modules share: binding values per dialect, time arithmetic that works
/// on PostgreSQL timestamps and on SQLite's ISO text or epoch numbers, and reading figures.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/module.hpp"
#include "checks/sql_text.hpp"

namespace invariantd::checks {

/// Collects bound values for one statement and hands out their placeholders.
class bound_values {
public:
    explicit bound_values(std::string_view driver) : driver_(driver) {}
    /// Adds a value; returns "?" or "$n".
    std::string bind(db::value value);
    std::vector<db::value> take() { return std::move(values_); }

private:
    std::string_view driver_;
    std::vector<db::value> values_;
};

/// PostgreSQL: a bound interval of `seconds` ("CAST($n AS interval)").
std::string bind_interval(bound_values& values, double seconds);

/// `column` as seconds since the Unix epoch. On SQLite it accepts ISO-8601 UTC text (as
/// SQLAlchemy and Rails write it) and epoch numbers alike.
std::string epoch_of(std::string_view driver, std::string_view column);

/// The current time as seconds since the epoch, in the database's own clock.
std::string epoch_now(std::string_view driver);

/// "column is later than now − seconds", written so PostgreSQL can use an index on column.
std::string within_last(std::string_view driver, std::string_view column, bound_values& values, double seconds);

/// "column is earlier than now − seconds" (older than), index-friendly on PostgreSQL.
std::string older_than(std::string_view driver, std::string_view column, bound_values& values, double seconds);

/// A result cell as JSON (null, integer, real, text).
nlohmann::ordered_json to_json(const db::value& value);

/// The named column of the first row as a number (0 for NULL or no row).
double number_at(const db::rowset& rows, std::size_t column);

/// The rows of a query as sample objects keyed by column name, in column order.
nlohmann::ordered_json rows_as_samples(const db::rowset& rows);

/// Duration parameters are stored in milliseconds; modules think in seconds.
inline double seconds_param(const nlohmann::json& params, const char* name) {
    return static_cast<double>(params[name].get<std::int64_t>()) / 1000.0;
}

/// " AND (fragment)" for an optional trusted `where` parameter, "" when it is null.
std::string and_where(const nlohmann::json& where);

}  // namespace invariantd::checks
