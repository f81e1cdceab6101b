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

/// An offender key as stored and shown: invalid UTF-8 becomes U+FFFD, and a key longer than
/// 512 bytes becomes "sha256:<hex of the key>".
std::string offender_key(std::string_view raw);

/// The compact JSON array of the values' text forms, NULL as null: ["5","3"].
std::string json_array_key(const std::vector<db::value>& values);

/// "LIMIT n" for a statement returning offender keys: one more than max_tracked, so that
/// take_offenders can tell a truncated list.
std::string offender_limit(const check_context& context);

/// Fills output.offenders from column `column` of `rows` (already worst first), at most
/// max_tracked of them; truncated when the statement returned more.
void take_offenders(module_output& output, const db::rowset& rows, std::size_t column, const check_context& context);

/// A sample field as a person reads it: text as is, integral numbers without ".0", NULL as "NULL".
std::string field_text(const nlohmann::ordered_json& value);

/// Samples from rows laid out as (key, id, fields...): {"id", each of `fields` by name, "key"},
/// at most max_samples of them — the rows that are both the offenders and the evidence.
nlohmann::ordered_json keyed_samples(const db::rowset& rows, const std::vector<std::string>& fields,
                                     std::size_t max_samples);

/// Replaces each sample's "key" with its offender_key form (it must be text).
void normalise_sample_keys(nlohmann::ordered_json& samples);

}  // namespace invariantd::checks
