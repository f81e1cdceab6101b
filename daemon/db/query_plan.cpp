#include "daemon/db/query_plan.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace invariantd::db {
namespace {

void collect_scans(const nlohmann::json& node, std::vector<std::string>& scans) {
    if (!node.is_object()) return;
    const auto type = node.find("Node Type");
    const auto relation = node.find("Relation Name");
    if (type != node.end() && *type == "Seq Scan" && relation != node.end() && relation->is_string()) {
        const auto name = relation->get<std::string>();
        if (std::find(scans.begin(), scans.end(), name) == scans.end()) scans.push_back(name);
    }
    if (const auto children = node.find("Plans"); children != node.end() && children->is_array())
        for (const auto& child : *children) collect_scans(child, scans);
}

}  // namespace

query_plan parse_query_plan(const std::string& json) {
    const auto document = nlohmann::json::parse(json, nullptr, false);
    if (!document.is_array() || document.empty() || !document[0].is_object())
        throw std::runtime_error("EXPLAIN did not answer with a JSON plan");
    const auto root = document[0].find("Plan");
    if (root == document[0].end() || !root->is_object())
        throw std::runtime_error("EXPLAIN did not answer with a JSON plan");
    query_plan plan;
    if (const auto cost = root->find("Total Cost"); cost != root->end() && cost->is_number())
        plan.total_cost = cost->get<double>();
    if (const auto rows = root->find("Plan Rows"); rows != root->end() && rows->is_number())
        plan.rows = rows->get<double>();
    collect_scans(*root, plan.sequential_scans);
    return plan;
}

}  // namespace invariantd::db
