#pragma once
/// Module parameter schemas: declared once per module, used to validate configuration at
/// load time (with file positions), to fill defaults, and to print `invariantd modules`.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace invariantd::checks {

enum class param_kind {
    string,       ///< free text
    sql,          ///< a trusted SQL query or fragment written by the operator
    identifier,   ///< a table or column name, possibly schema-qualified; always quoted in SQL
    identifiers,  ///< a non-empty list of identifiers
    strings,      ///< a list of values (bound as parameters)
    integer,      ///< a non-negative integer
    number,       ///< a real number
    duration,     ///< Prometheus duration; stored as milliseconds
    boolean,
    choice,       ///< one of `choices`
    object,       ///< a mapping described by `fields`
    objects,      ///< a list of mappings described by `fields`
};

/// One parameter. `default_value` null + `required` false means "optional, no default"
/// (the module treats null as "off"); defaults are shown by `invariantd modules`.
struct param_spec {
    std::string name;
    param_kind kind = param_kind::string;
    nlohmann::json default_value = nullptr;
    bool required = false;
    std::string help;
    std::vector<std::string> choices;
    /// object kind only: absent means null instead of "all field defaults".
    bool nullable = false;
    std::vector<param_spec> fields;
};

/// The optional trusted `where` fragment several modules offer.
param_spec where_param();
/// The `id_column` parameter (default "id") that names a row; `help` says what it is used for.
param_spec id_column_param(std::string help);

/// Receives one validation problem at a YAML position.
using problem_reporter = std::function<void(const YAML::Mark&, const std::string&)>;

/// Validates `node` (the `params:` mapping; may be null/undefined for "all defaults")
/// against `specs`, reports every problem, and returns the parameters with defaults applied
/// as JSON (durations in milliseconds). `where` positions problems about missing keys.
nlohmann::json validate_params(const YAML::Node& node, const std::vector<param_spec>& specs,
                               const YAML::Mark& where, const problem_reporter& report);

/// The defaults of `specs` as JSON, the shape `validate_params` returns for an empty node.
nlohmann::json default_params(const std::vector<param_spec>& specs);

/// Human-readable name of a kind ("duration", "list of identifiers", ...).
std::string describe(param_kind kind);

}  // namespace invariantd::checks
