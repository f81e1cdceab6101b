#pragma once
/// Typed access to a check's parameters, as validated by the loader against the module's
/// schema (defaults applied, so every declared parameter is present). Identifiers come back
/// quoted for SQL: a module cannot paste a configured name unquoted by accident.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invariantd::checks {

class module_args {
public:
    explicit module_args(const nlohmann::json& params) : params_(&params) {}

    /// An identifier parameter, quoted ("audit.racks" → "\"audit\".\"racks\"").
    std::string identifier(std::string_view name) const;
    /// An identifiers parameter, each quoted.
    std::vector<std::string> identifiers(std::string_view name) const;
    /// The names of an identifier or identifiers parameter as configured (sample keys, labels).
    std::vector<std::string> names(std::string_view name) const;
    /// A string, choice or identifier parameter as configured.
    std::string text(std::string_view name) const;
    /// A duration parameter in seconds.
    double seconds(std::string_view name) const;
    std::int64_t integer(std::string_view name) const;
    bool flag(std::string_view name) const;
    /// An optional parameter that was given (not null).
    bool given(std::string_view name) const;
    /// A trusted SQL parameter (`where`, `query`, ...); nullopt when not given.
    std::optional<std::string> sql(std::string_view name) const;
    /// " AND (fragment)" for an optional trusted SQL fragment, "" when not given.
    std::string and_sql(std::string_view name) const;
    /// A mapping parameter, and a list of mappings.
    module_args object(std::string_view name) const;
    std::vector<module_args> objects(std::string_view name) const;
    /// The parameter as stored (JSON, durations in milliseconds).
    const nlohmann::json& json(std::string_view name) const;

private:
    const nlohmann::json* params_;
};

}  // namespace invariantd::checks
