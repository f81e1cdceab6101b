#include <catch2/catch.hpp>

#include <set>

#include "checks/params.hpp"
#include "checks/registry.hpp"

using namespace invariantd::checks;

namespace {

struct collected {
    std::vector<std::string> messages;
    problem_reporter reporter() {
        return [this](const YAML::Mark& mark, const std::string& message) {
            messages.push_back(std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) + " " + message);
        };
    }
};

const std::vector<param_spec> nested_specs{
    {.name = "table", .kind = param_kind::identifier, .default_value = "scans"},
    {.name = "max_age", .kind = param_kind::duration, .default_value = 300000},
    {.name = "events", .kind = param_kind::object,
     .fields = {{.name = "table", .kind = param_kind::identifier, .default_value = "events"},
                {.name = "id", .kind = param_kind::identifier, .default_value = "id"}}},
    {.name = "relations", .kind = param_kind::objects,
     .fields = {{.name = "child", .kind = param_kind::identifier, .required = true},
                {.name = "null_is_orphan", .kind = param_kind::boolean, .default_value = false}}},
    {.name = "key", .kind = param_kind::identifiers, .default_value = nlohmann::json::array({"a", "b"})},
    {.name = "min_total", .kind = param_kind::integer, .default_value = 10},
};

}  // namespace

TEST_CASE("parameters get their defaults, nested ones too", "[params]") {
    collected problems;
    const auto params = validate_params(YAML::Load("{}"), nested_specs, YAML::Mark(), problems.reporter());
    CHECK(problems.messages.empty());
    CHECK(params["table"] == "scans");
    CHECK(params["max_age"] == 300000);
    CHECK(params["events"]["table"] == "events");
    CHECK(params["events"]["id"] == "id");
    CHECK(params["relations"].is_null());
    CHECK(params["key"] == nlohmann::json::array({"a", "b"}));
    CHECK(params == default_params(nested_specs));
}

TEST_CASE("given parameters are converted and checked", "[params]") {
    collected problems;
    const auto params = validate_params(YAML::Load(R"(
table: audit.racks
max_age: 10m
events: { id: event_id }
relations:
  - { child: racks }
  - { child: scans, null_is_orphan: true }
key: [crew_call_id, technician_id]
min_total: 3
)"),
                                        nested_specs, YAML::Mark(), problems.reporter());
    CHECK(problems.messages.empty());
    CHECK(params["table"] == "audit.racks");
    CHECK(params["max_age"] == 600000);
    CHECK(params["events"]["table"] == "events");
    CHECK(params["events"]["id"] == "event_id");
    CHECK(params["relations"][1]["null_is_orphan"] == true);
    CHECK(params["relations"][0]["null_is_orphan"] == false);
    CHECK(params["min_total"] == 3);
}

TEST_CASE("parameter problems are all reported with positions", "[params]") {
    collected problems;
    validate_params(YAML::Load("table: \"\"\nmax_age: soon\nevents: { idd: x }\nrelations: [ { null_is_orphan: maybe } ]\n"
                               "key: []\nmin_total: -2\n"),
                    nested_specs, YAML::Mark(), problems.reporter());
    CHECK(problems.messages == std::vector<std::string>{
                                   "1:8 parameter 'table' must not be empty",
                                   "2:10 parameter 'max_age': invalid duration 'soon' (use e.g. 500ms, 30s, 5m, 1h)",
                                   "3:11 unknown parameter 'events.idd' (did you mean 'id'?)",
                                   "4:14 missing required parameter 'relations[0].child'",
                                   "4:32 parameter 'relations[0].null_is_orphan' must be true or false, got 'maybe'",
                                   "5:6 parameter 'key' must be a non-empty list",
                                   "6:12 parameter 'min_total' must be a non-negative integer, got '-2'",
                               });
}

TEST_CASE("the registry lists every module exactly once", "[params]") {
    std::set<std::string_view> names;
    for (const auto* module : all_modules()) {
        CHECK(names.insert(module->name()).second);
        CHECK(find_module(module->name()) == module);
        CHECK_FALSE(module->summary().empty());
    }
    CHECK(find_module("sql") != nullptr);
    CHECK(find_module("nope") == nullptr);
}
