#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "checks/module_support.hpp"

namespace invariantd::checks {

/// A query returning how many unique constraints / non-partial unique indexes on `table`
/// have exactly the columns of `key` (a JSON list), in any order. An index on a superset of
/// the key does not count. Shared by `duplicates` and `schema`.
std::string unique_index_query(std::string_view driver, const std::string& table, const nlohmann::json& key,
                               bound_values& values);

}  // namespace invariantd::checks
