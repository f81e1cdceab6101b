// The Grafana dashboard and the Prometheus alerting rules against the real tools: every
// PromQL expression parses (promtool), names only metrics a real scrape of the daemon has,
// and — for the dashboard — returns data from a real Prometheus scraping the demo.
#include <signal.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <random>
#include <regex>
#include <set>

#include <yaml-cpp/yaml.h>

#include "tests/support/demo_world.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/prometheus_server.hpp"
#include "tests/support/test_receiver.hpp"

using namespace invariantd::test;

namespace {

struct promql {
    std::string where;  ///< panel title or rule name, for failure messages
    std::string expr;   ///< with Grafana's variables replaced by what "All" selects
};

/// What Grafana sends for the dashboard's variables with "All" selected.
std::string substitute_variables(std::string expr) {
    static const std::vector<std::pair<std::regex, std::string>> replacements{
        {std::regex(R"(\$\{?__rate_interval\}?)"), "1m"}, {std::regex(R"(\$\{?__interval\}?)"), "15s"},
        {std::regex(R"(\$\{?__range\}?)"), "1h"},          {std::regex(R"(\$\{?check\}?)"), ".*"},
        {std::regex(R"(\$\{?database\}?)"), ".*"}};
    for (const auto& [pattern, value] : replacements) expr = std::regex_replace(expr, pattern, value);
    return expr;
}

void collect_panel_queries(const nlohmann::json& panels, std::vector<promql>& out) {
    for (const auto& panel : panels) {
        if (panel.contains("panels")) collect_panel_queries(panel["panels"], out);
        for (const auto& target : panel.value("targets", nlohmann::json::array()))
            out.push_back({panel["title"].get<std::string>(), substitute_variables(target["expr"].get<std::string>())});
    }
}

/// Variable queries are Grafana's label_values(<selector>, <label>): the selector is PromQL.
std::vector<promql> variable_selectors(const nlohmann::json& dashboard) {
    std::vector<promql> out;
    static const std::regex label_values(R"(^label_values\((.*),\s*[a-zA-Z_]+\)$)");
    for (const auto& variable : dashboard["templating"]["list"]) {
        if (variable["type"] != "query") continue;
        const auto definition = variable["query"]["query"].get<std::string>();
        std::smatch match;
        if (std::regex_match(definition, match, label_values))
            out.push_back({"variable " + variable["name"].get<std::string>(), substitute_variables(match[1])});
        else
            out.push_back({"variable " + variable["name"].get<std::string>(), "unparsed: " + definition});
    }
    return out;
}

std::vector<promql> alert_rule_queries() {
    std::vector<promql> out;
    const auto rules = YAML::LoadFile(source_path("deploy/prometheus/invariantd-rules.yml"));
    for (const auto& group : rules["groups"])
        for (const auto& rule : group["rules"])
            out.push_back({rule["alert"].as<std::string>(), rule["expr"].as<std::string>()});
    return out;
}

/// Metric names an expression selects: invariantd's own and the process_* collector's.
std::set<std::string> metric_names(const std::string& expr) {
    static const std::regex name(R"(\b((?:invariantd|process)_[a-zA-Z0-9_]+))");
    std::set<std::string> names;
    for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) names.insert((*it)[1]);
    return names;
}

/// Sample names (before the labels) in a Prometheus text scrape.
std::set<std::string> scraped_names(const std::string& text) {
    std::set<std::string> names;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        names.insert(line.substr(0, line.find_first_of("{ ")));
    }
    return names;
}

}  // namespace

TEST_CASE("dashboard and alert-rule PromQL parses, names real metrics and returns data from a real Prometheus",
          "[dashboard][prometheus]") {
    const auto dashboard = nlohmann::json::parse(read_file(source_path("dashboards/invariantd.json")));

    // Shape Grafana needs: the data source is a variable, check and database are variables,
    // every panel has a unique id and takes its data from the variable.
    std::set<std::string> variables;
    for (const auto& variable : dashboard["templating"]["list"]) variables.insert(variable["name"]);
    CHECK(variables == std::set<std::string>{"datasource", "database", "check"});
    std::set<int> ids;
    for (const auto& panel : dashboard["panels"]) {
        INFO(panel["title"]);
        CHECK(ids.insert(panel["id"].get<int>()).second);
        if (panel["type"] == "row") continue;
        CHECK(panel["datasource"]["uid"] == "${datasource}");
        CHECK_FALSE(panel["targets"].empty());
    }

    std::vector<promql> panel_queries;
    collect_panel_queries(dashboard["panels"], panel_queries);
    REQUIRE(panel_queries.size() >= 15);
    std::vector<promql> all = panel_queries;
    for (auto& query : variable_selectors(dashboard)) all.push_back(query);
    for (auto& query : alert_rule_queries()) all.push_back(query);

    // promtool parses every expression: a rules file with one recording rule per query.
    temp_dir dir;
    YAML::Emitter rules;
    rules << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key
          << "name" << YAML::Value << "dashboard_queries" << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
    for (std::size_t i = 0; i < all.size(); ++i)
        rules << YAML::BeginMap << YAML::Key << "record" << YAML::Value << "query:" + std::to_string(i) << YAML::Key
              << "expr" << YAML::Value << all[i].expr << YAML::EndMap;
    rules << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    const auto rules_file = dir.write("queries.rules.yml", rules.c_str());
    const auto checked = run_command({"promtool", "check", "rules", rules_file});
    INFO(checked.out << checked.err);
    CHECK(checked.exit_code == 0);
    CHECK(checked.out.find("SUCCESS: " + std::to_string(all.size()) + " rules found") != std::string::npos);

    // The demo daemon with a receiver (so the notification families exist), as a one-member
    // cluster (so the cluster families exist; its schema is this test's own), scraped by Prometheus.
    test_receiver hook;
    const auto schema = "dash_" + std::to_string(std::random_device{}() % 1000000000);
    auto config = write_demo_world(dir, "receivers:\n  ops: { type: webhook, url: \"" + hook.url("/hook") +
                                            "\" }\ncluster: { database: coordination, schema: " + schema +
                                            ", member: dashboard, lease: 3s }\n");
    const auto with_coordination = std::regex_replace(
        read_file(config), std::regex("\ndatabases:\n"),
        "\ndatabases:\n  coordination: { driver: postgres, dsn: \"" + pg_dsn(true) + "\" }\n");
    std::ofstream(config) << with_coordination;
    const auto initialised = run_command({daemon_binary(), "cluster", "init", "-c", config});
    INFO(initialised.out << initialised.err);
    REQUIRE(initialised.exit_code == 0);
    daemon_process daemon(config, (dir.path() / "daemon.log").string());
    // Detail and breakdown series appear with the first results: scrape once every check ran.
    std::set<std::string> needed;
    for (const auto& query : all)
        for (const auto& name : metric_names(query.expr)) needed.insert(name);
    std::set<std::string> scraped;
    poll_until([&] {
        scraped = scraped_names(http_get(daemon.port(), "/metrics").body);
        return std::includes(scraped.begin(), scraped.end(), needed.begin(), needed.end());
    });
    for (const auto& query : all) {
        INFO(query.where << ": " << query.expr);
        const auto names = metric_names(query.expr);
        // `up` is the one series Prometheus makes itself (the daemon-down rule).
        CHECK((!names.empty() || query.expr.find("up{job=") != std::string::npos));
        for (const auto& name : names) {
            INFO(name);
            CHECK(scraped.contains(name));
        }
    }

    prometheus_server prometheus(dir, {{"invariantd", "127.0.0.1:" + std::to_string(daemon.port())}});
    INFO(prometheus.log());
    // Every panel shows something once Prometheus has a few scrapes (rates need two).
    std::string empty;
    const bool all_answer = poll_until(
        [&] {
            for (const auto& query : panel_queries) {
                const auto answer = prometheus.query(query.expr);
                if (answer.value("status", "") != "success" || answer["data"]["result"].empty()) {
                    empty = query.where + ": " + query.expr + " -> " + answer.dump();
                    return false;
                }
            }
            return true;
        },
        std::chrono::seconds(40));
    INFO("first query without data: " << empty);
    CHECK(all_answer);
    // And the figures are the demo's: every demo check fires (once its first run was scraped).
    std::string firing;
    poll_until([&] {
        firing = prometheus.query(panel_queries[0].expr)["data"]["result"][0]["value"][1].get<std::string>();
        return firing == "9";
    });
    CHECK(firing == "9");
    daemon.signal(SIGTERM);
    daemon.wait_exit(std::chrono::seconds(20));
    pg_exec(pg_dsn(true), "DROP SCHEMA " + schema + " CASCADE");
}
