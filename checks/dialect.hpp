#pragma once
/// Everything that differs between the SQL invariantd writes for PostgreSQL and for SQLite,
/// in one object per dialect: modules ask the dialect and never compare driver names.
///
/// Placeholders are numbered on both (`$n` on PostgreSQL, `?n` on SQLite), so a value's
/// placeholder names its position: values may be bound in any order relative to the text.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/db/database.hpp"

namespace invariantd::checks {

class bound_values;

class sql_dialect {
public:
    virtual ~sql_dialect() = default;
    virtual db::driver_kind driver() const = 0;
    /// The n-th (1-based) bind placeholder.
    virtual std::string placeholder(std::size_t n) const = 0;
    /// `column` as seconds since the Unix epoch. SQLite accepts ISO-8601 UTC text (as
    /// SQLAlchemy and Rails write it) and epoch numbers alike.
    virtual std::string epoch_of(std::string_view column) const = 0;
    /// The current time as seconds since the epoch, in the database's own clock.
    virtual std::string epoch_now() const = 0;
    /// "column is later than now − seconds"; on PostgreSQL written so an index on it is used.
    virtual std::string within_last(std::string_view column, bound_values& values, double seconds) const = 0;
    /// "column is earlier than now − seconds" (older than); index-friendly on PostgreSQL.
    virtual std::string older_than(std::string_view column, bound_values& values, double seconds) const = 0;
    /// "later is exactly `seconds` after earlier" (to the second on SQLite's text times).
    virtual std::string exactly_after(std::string_view later, std::string_view earlier, bound_values& values,
                                      double seconds) const = 0;
    /// `expression` as text ordered by bytes (for ORDER BY: offender keys tie-break in byte order).
    virtual std::string text_key(std::string_view expression) const = 0;
    /// The group's values of `expression` as comma-separated text, in ascending order.
    virtual std::string string_agg(std::string_view expression) const = 0;
    /// Case-insensitive "haystack contains needle" (both SQL expressions).
    virtual std::string contains(std::string_view haystack, std::string_view needle) const = 0;
    /// A query counting the unique constraints / non-partial unique indexes on `table` whose
    /// key columns are exactly `key` (in any order); a superset does not count.
    virtual std::string unique_index_count(const std::string& table, const std::vector<std::string>& key,
                                           bound_values& values) const = 0;
};

/// The one dialect object of a driver.
const sql_dialect& dialect_of(db::driver_kind driver);

/// Collects bound values for one statement and hands out their placeholders.
class bound_values {
public:
    explicit bound_values(const sql_dialect& dialect) : dialect_(dialect) {}
    /// Adds a value; returns its placeholder.
    std::string bind(db::value value);
    std::vector<db::value> take() { return std::move(values_); }

private:
    const sql_dialect& dialect_;
    std::vector<db::value> values_;
};

}  // namespace invariantd::checks
