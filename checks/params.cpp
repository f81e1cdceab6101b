#include "checks/params.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "daemon/common/duration.hpp"
#include "daemon/common/suggest.hpp"

namespace invariantd::checks {
namespace {

std::optional<nlohmann::json> convert(const YAML::Node& node, const param_spec& spec, const std::string& path,
                                      const problem_reporter& report);

nlohmann::json validate_mapping(const YAML::Node& node, const std::vector<param_spec>& specs,
                                const YAML::Mark& where, const std::string& prefix, const problem_reporter& report) {
    nlohmann::json out = nlohmann::json::object();
    // A missing key is a "zombie" node in yaml-cpp: IsDefined() is false and every other
    // query throws, so nothing below may touch `node` unless it is present.
    const bool present = node.IsDefined() && !node.IsNull();
    if (present && !node.IsMap()) {
        report(node.Mark(), fmt::format("'{}' must be a mapping", prefix.empty() ? "params" : prefix));
        return default_params(specs);
    }
    std::vector<std::string> known;
    for (const auto& spec : specs) known.push_back(spec.name);
    if (present) {
        for (const auto& item : node) {
            const std::string key = item.first.Scalar();
            const auto spec = std::find_if(specs.begin(), specs.end(), [&](const param_spec& s) { return s.name == key; });
            if (spec == specs.end()) {
                report(item.first.Mark(), fmt::format("unknown parameter '{}{}'{}", prefix.empty() ? "" : prefix + ".",
                                                      key, did_you_mean(key, known)));
            }
        }
    }
    for (const auto& spec : specs) {
        const std::string path = prefix.empty() ? spec.name : prefix + "." + spec.name;
        const YAML::Node child = present ? node[spec.name] : YAML::Node();
        if (!child.IsDefined() || child.IsNull()) {
            if (spec.required) {
                report(present ? node.Mark() : where,
                       fmt::format("missing required parameter '{}'", path));
            }
            out[spec.name] = spec.kind == param_kind::object && spec.default_value.is_null() && !spec.nullable
                                 ? default_params(spec.fields)
                                 : spec.default_value;
            continue;
        }
        if (auto converted = convert(child, spec, path, report)) out[spec.name] = std::move(*converted);
        else out[spec.name] = spec.default_value;
    }
    return out;
}

std::optional<nlohmann::json> convert(const YAML::Node& node, const param_spec& spec, const std::string& path,
                                      const problem_reporter& report) {
    auto expect_scalar = [&](std::string_view what) {
        if (node.IsScalar()) return true;
        report(node.Mark(), fmt::format("parameter '{}' must be {}", path, what));
        return false;
    };
    switch (spec.kind) {
        case param_kind::string:
        case param_kind::sql:
        case param_kind::identifier: {
            if (!expect_scalar(spec.kind == param_kind::identifier ? "a table or column name" : "a string"))
                return std::nullopt;
            const std::string text = node.Scalar();
            if (text.empty() || (spec.kind == param_kind::identifier && text.find('\0') != std::string::npos)) {
                report(node.Mark(), fmt::format("parameter '{}' must not be empty", path));
                return std::nullopt;
            }
            if (spec.kind == param_kind::identifier) {
                for (std::size_t start = 0;;) {
                    const auto dot = text.find('.', start);
                    if (text.substr(start, dot - start).empty()) {
                        report(node.Mark(), fmt::format("parameter '{}': '{}' is not a valid name", path, text));
                        return std::nullopt;
                    }
                    if (dot == std::string::npos) break;
                    start = dot + 1;
                }
            }
            return text;
        }
        case param_kind::integer: {
            if (!expect_scalar("a non-negative integer")) return std::nullopt;
            try {
                const long long parsed = node.as<long long>();
                if (parsed < 0) throw YAML::Exception(node.Mark(), "negative");
                return parsed;
            } catch (const YAML::Exception&) {
                report(node.Mark(), fmt::format("parameter '{}' must be a non-negative integer, got '{}'", path,
                                                node.Scalar()));
                return std::nullopt;
            }
        }
        case param_kind::number: {
            if (!expect_scalar("a number")) return std::nullopt;
            try {
                return node.as<double>();
            } catch (const YAML::Exception&) {
                report(node.Mark(), fmt::format("parameter '{}' must be a number, got '{}'", path, node.Scalar()));
                return std::nullopt;
            }
        }
        case param_kind::boolean: {
            if (!expect_scalar("true or false")) return std::nullopt;
            try {
                return node.as<bool>();
            } catch (const YAML::Exception&) {
                report(node.Mark(), fmt::format("parameter '{}' must be true or false, got '{}'", path, node.Scalar()));
                return std::nullopt;
            }
        }
        case param_kind::duration: {
            if (!expect_scalar("a duration")) return std::nullopt;
            if (auto parsed = parse_duration(node.Scalar())) return parsed->count();
            report(node.Mark(), fmt::format("parameter '{}': invalid duration '{}' (use e.g. 500ms, 30s, 5m, 1h)",
                                            path, node.Scalar()));
            return std::nullopt;
        }
        case param_kind::choice: {
            if (!expect_scalar("a string")) return std::nullopt;
            const std::string text = node.Scalar();
            if (std::find(spec.choices.begin(), spec.choices.end(), text) != spec.choices.end()) return text;
            report(node.Mark(), fmt::format("parameter '{}' must be one of {}, got '{}'", path,
                                            fmt::join(spec.choices, "|"), text));
            return std::nullopt;
        }
        case param_kind::identifiers:
        case param_kind::strings: {
            if (!node.IsSequence() || node.size() == 0) {
                report(node.Mark(), fmt::format("parameter '{}' must be a non-empty list", path));
                return std::nullopt;
            }
            nlohmann::json list = nlohmann::json::array();
            param_spec element{path, spec.kind == param_kind::identifiers ? param_kind::identifier : param_kind::string};
            bool ok = true;
            for (const auto& item : node) {
                if (auto converted = convert(item, element, path, report)) list.push_back(*converted);
                else ok = false;
            }
            if (!ok) return std::nullopt;
            return list;
        }
        case param_kind::object:
            return validate_mapping(node, spec.fields, node.Mark(), path, report);
        case param_kind::objects: {
            if (!node.IsSequence() || node.size() == 0) {
                report(node.Mark(), fmt::format("parameter '{}' must be a non-empty list of mappings", path));
                return std::nullopt;
            }
            nlohmann::json list = nlohmann::json::array();
            std::size_t index = 0;
            for (const auto& item : node) {
                list.push_back(validate_mapping(item, spec.fields, item.Mark(), fmt::format("{}[{}]", path, index), report));
                ++index;
            }
            return list;
        }
    }
    return std::nullopt;
}

}  // namespace

nlohmann::json validate_params(const YAML::Node& node, const std::vector<param_spec>& specs,
                               const YAML::Mark& where, const problem_reporter& report) {
    return validate_mapping(node, specs, where, "", report);
}

nlohmann::json default_params(const std::vector<param_spec>& specs) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& spec : specs) {
        out[spec.name] = spec.kind == param_kind::object && spec.default_value.is_null() && !spec.nullable
                             ? default_params(spec.fields)
                             : spec.default_value;
    }
    return out;
}

std::string describe(param_kind kind) {
    switch (kind) {
        case param_kind::string: return "string";
        case param_kind::sql: return "SQL (trusted)";
        case param_kind::identifier: return "identifier";
        case param_kind::identifiers: return "list of identifiers";
        case param_kind::strings: return "list of strings";
        case param_kind::integer: return "integer";
        case param_kind::number: return "number";
        case param_kind::duration: return "duration";
        case param_kind::boolean: return "boolean";
        case param_kind::choice: return "choice";
        case param_kind::object: return "mapping";
        case param_kind::objects: return "list of mappings";
    }
    return "value";
}

param_spec where_param() {
    return {.name = "where", .kind = param_kind::sql, .help = "optional trusted SQL fragment limiting the rows"};
}

param_spec id_column_param(std::string help) {
    return {.name = "id_column", .kind = param_kind::identifier, .default_value = "id", .help = std::move(help)};
}

}  // namespace invariantd::checks
