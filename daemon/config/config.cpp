#include "daemon/config/config.hpp"

#include <fmt/format.h>

namespace invariantd::config {
namespace {

std::string join_errors(const std::vector<config_error>& errors) {
    std::string text;
    for (const auto& e : errors) {
        if (!text.empty()) text += '\n';
        text += e.to_string();
    }
    return text;
}

}  // namespace

std::string config_error::to_string() const {
    // A file that cannot be read has no position to name.
    if (line == 0) return fmt::format("{}: {}", file, message);
    return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

config_exception::config_exception(std::vector<config_error> errors)
    : std::runtime_error(join_errors(errors)), errors_(std::move(errors)) {}

const database_config* daemon_config::find_database(std::string_view name) const {
    for (const auto& db : databases) {
        if (db.name == name) return &db;
    }
    return nullptr;
}

const check_config* daemon_config::find_check(std::string_view name) const {
    for (const auto& check : checks) {
        if (check.name == name) return &check;
    }
    return nullptr;
}

const char* to_string(receiver_type type) {
    switch (type) {
        case receiver_type::pagerduty: return "pagerduty";
        case receiver_type::alertmanager: return "alertmanager";
        case receiver_type::webhook: return "webhook";
        case receiver_type::slack: return "slack";
    }
    return "webhook";
}

const char* to_string(maintenance_action action) {
    return action == maintenance_action::pause ? "pause" : "silence";
}

}  // namespace invariantd::config
