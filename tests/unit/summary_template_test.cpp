#include <catch2/catch.hpp>

#include "daemon/config/loader.hpp"
#include "daemon/alerting/summary_template.hpp"

using namespace invariantd;

namespace {

config::check_config check_with(const std::string& summary) {
    auto config = config::load_config_text("databases:\n  staffing: { driver: sqlite, path: /x.db }\nchecks:\n"
                                           "  - name: shift_coverage\n    module: shift_coverage\n    database: staffing\n"
                                           "    alert: { when: \"> 0\", severity: critical, summary: " +
                                               nlohmann::json(summary).dump() + " }\n",
                                           "t.yaml", "/");
    return config.checks.at(0);
}

checks::module_output runbook_output() {
    checks::module_output output;
    output.value = 168;
    output.details = {{"missing_shifts", 168}, {"events_affected", 32}, {"ratio", 0.07}};
    return output;
}

}  // namespace

TEST_CASE("summary placeholders render like Prometheus numbers", "[summary]") {
    const auto text = render_summary(check_with("{{value}} shifts missing across {{details.events_affected}} events "
                                                "({{ details.ratio }}; {{check}} on {{database}}, {{severity}}, > {{threshold}})"),
                                     runbook_output());
    CHECK(text == "168 shifts missing across 32 events (0.07; shift_coverage on staffing, critical, > 0)");
}

TEST_CASE("unknown placeholders stay visible instead of vanishing", "[summary]") {
    CHECK(render_summary(check_with("{{value}} missing, {{details.nope}} / {{valeu}} / {{unclosed"), runbook_output()) ==
          "168 missing, {{details.nope}} / {{valeu}} / {{unclosed");
}

TEST_CASE("without a summary the text names check, value, condition and database", "[summary]") {
    auto check = check_with("");
    check.alert.summary.clear();
    CHECK(render_summary(check, runbook_output()) == "shift_coverage: value 168 (alert when > 0) on staffing");
}

TEST_CASE("summaries are cut to 1024 bytes on a character boundary", "[summary]") {
    std::string long_text;
    for (int i = 0; i < 600; ++i) long_text += "é";  // 2 bytes each
    const auto text = render_summary(check_with(long_text), runbook_output());
    CHECK(text.size() <= max_summary_length);
    CHECK(text.size() >= max_summary_length - 4);
    CHECK(text.substr(text.size() - 3) == "\xE2\x80\xA6");
    // Everything before the ellipsis is whole two-byte characters.
    CHECK((text.size() - 3) % 2 == 0);
}
