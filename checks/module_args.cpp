#include "checks/module_args.hpp"

#include "checks/sql_text.hpp"

namespace invariantd::checks {

const nlohmann::json& module_args::json(std::string_view name) const {
    return params_->at(std::string(name));
}

std::string module_args::identifier(std::string_view name) const {
    return quote_identifier(text(name));
}

std::vector<std::string> module_args::identifiers(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& one : names(name)) out.push_back(quote_identifier(one));
    return out;
}

std::vector<std::string> module_args::names(std::string_view name) const {
    const auto& value = json(name);
    if (value.is_string()) return {value.get<std::string>()};
    std::vector<std::string> out;
    for (const auto& one : value) out.push_back(one.get<std::string>());
    return out;
}

std::string module_args::text(std::string_view name) const {
    return json(name).get<std::string>();
}

double module_args::seconds(std::string_view name) const {
    return static_cast<double>(json(name).get<std::int64_t>()) / 1000.0;
}

std::int64_t module_args::integer(std::string_view name) const {
    return json(name).get<std::int64_t>();
}

bool module_args::flag(std::string_view name) const {
    return json(name).get<bool>();
}

bool module_args::given(std::string_view name) const {
    auto it = params_->find(std::string(name));
    return it != params_->end() && !it->is_null();
}

std::optional<std::string> module_args::sql(std::string_view name) const {
    if (!given(name)) return std::nullopt;
    return text(name);
}

std::string module_args::and_sql(std::string_view name) const {
    const auto fragment = sql(name);
    return fragment ? " AND (" + *fragment + ")" : std::string();
}

module_args module_args::object(std::string_view name) const {
    return module_args(json(name));
}

std::vector<module_args> module_args::objects(std::string_view name) const {
    std::vector<module_args> out;
    for (const auto& one : json(name)) out.emplace_back(one);
    return out;
}

}  // namespace invariantd::checks
