#pragma once
/// What the built-in modules share besides the dialect: reading figures and turning result
/// rows into sample objects.
#include <nlohmann/json.hpp>

#include "checks/module.hpp"
#include "checks/sql_text.hpp"

namespace invariantd::checks {

/// A result cell as JSON (null, integer, real, text).
nlohmann::ordered_json to_json(const db::value& value);

/// The named column of the first row as a number (0 for NULL or no row).
double number_at(const db::rowset& rows, std::size_t column);

/// The rows of a query as sample objects keyed by column name, in column order.
nlohmann::ordered_json rows_as_samples(const db::rowset& rows);

}  // namespace invariantd::checks
