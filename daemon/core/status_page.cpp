#include "daemon/core/status_page.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "daemon/core/status_json.hpp"

namespace invariantd {
namespace {

// Worst first: the on-call engineer opening the page should not have to scroll to the
// check that paged them.
constexpr std::array<const char*, 4> state_order{"firing", "error", "pending", "ok"};

int state_rank(const std::string& state) {
    const auto it = std::find(state_order.begin(), state_order.end(), state);
    return static_cast<int>(it - state_order.begin());
}

std::string text_or(const nlohmann::ordered_json& value, const char* fallback) {
    if (value.is_null()) return fallback;
    return html_escape(value.is_string() ? value.get<std::string>() : value.dump());
}

/// "2026-11-22T15:02:38.806Z" shown as "2026-11-22 15:02:38Z" inside a machine-readable <time>.
std::string time_cell(const nlohmann::ordered_json& value) {
    if (!value.is_string()) return "never";
    const auto full = value.get<std::string>();
    std::string shown = full.substr(0, full.find('.'));
    if (const auto t = shown.find('T'); t != std::string::npos) shown[t] = ' ';
    if (shown.back() != 'Z') shown += 'Z';
    return fmt::format("<time datetime=\"{}\">{}</time>", html_escape(full), html_escape(shown));
}

/// "2 new · oldest since 3d4h" under a check that has offenders.
std::string offenders_line(const nlohmann::ordered_json& check) {
    const auto it = check.find("offenders");
    if (it == check.end() || !it->is_object() || it->value("tracked", 0) == 0) return "";
    std::string line = fmt::format("{} new", it->value("new", 0));
    if (it->contains("oldest_age") && (*it)["oldest_age"].is_string())
        line += " &middot; oldest since " + html_escape((*it)["oldest_age"].get<std::string>());
    return "<div class=\"offenders\">" + line + "</div>";
}

/// "silenced until …: comment" and the check's current or next maintenance window.
std::string mute_lines(const nlohmann::ordered_json& check) {
    std::string out;
    if (check.contains("silenced_until") && check["silenced_until"].is_string())
        out += fmt::format("<div class=\"silenced\">silenced until {}: {}</div>", time_cell(check["silenced_until"]),
                           text_or(check["silence_comment"], ""));
    if (check.contains("maintenance") && check["maintenance"].is_object()) {
        const auto& window = check["maintenance"];
        const bool active = window.value("active", false);
        out += fmt::format("<div class=\"maintenance\">{} {} ({}) {}</div>",
                           active ? "in maintenance window" : "next maintenance window", text_or(window["name"], ""),
                           text_or(window["action"], ""),
                           active ? "until " + time_cell(window["end"])
                                  : time_cell(window["start"]) + " &ndash; " + time_cell(window["end"]));
    }
    return out;
}

std::string check_row(const nlohmann::ordered_json& check) {
    const auto name = check["name"].get<std::string>();
    const auto state = check["state"].get<std::string>();
    // Check names match [a-z0-9_]+ (config rule), so the name is a safe path segment as is.
    return fmt::format(
        "<tr class=\"check {state}\" data-check=\"{name}\" data-state=\"{state}\">"
        "<td class=\"name\">{name} <a class=\"json\" href=\"/api/v1/checks/{name}\">JSON</a>{offenders}{mutes}</td>"
        "<td><span class=\"badge {state}\">{state}</span></td>"
        "<td class=\"value\">{value}</td><td>{condition}</td><td>{module}</td><td>{database}</td>"
        "<td>{last_run}</td><td>{last_success}</td><td class=\"error\">{error}</td></tr>\n",
        fmt::arg("state", html_escape(state)), fmt::arg("name", html_escape(name)),
        fmt::arg("value", text_or(check["value"], "&ndash;")), fmt::arg("condition", text_or(check["condition"], "")),
        fmt::arg("module", text_or(check["module"], "")), fmt::arg("database", text_or(check["database"], "")),
        fmt::arg("last_run", time_cell(check["last_run"])), fmt::arg("last_success", time_cell(check["last_success"])),
        fmt::arg("error", text_or(check["error"], "")), fmt::arg("offenders", offenders_line(check)),
        fmt::arg("mutes", mute_lines(check)));
}

}  // namespace

std::string render_status_page(const status_page_view& view) {
    std::vector<const nlohmann::ordered_json*> checks;
    for (const auto& check : view.checks) checks.push_back(&check);
    std::stable_sort(checks.begin(), checks.end(), [](const auto* a, const auto* b) {
        return state_rank((*a)["state"].template get<std::string>()) < state_rank((*b)["state"].template get<std::string>());
    });

    std::array<int, state_order.size() + 1> counts{};
    std::string rows;
    for (const auto* check : checks) {
        ++counts[static_cast<std::size_t>(state_rank((*check)["state"].get<std::string>()))];
        rows += check_row(*check);
    }
    // Only the states that occur: a page without red on it means nothing is firing.
    std::string summary = fmt::format("{} checks: ", checks.size());
    for (std::size_t i = 0; i < state_order.size(); ++i) {
        if (counts[i] > 0) summary += fmt::format("<span class=\"badge {0}\">{1} {0}</span> ", state_order[i], counts[i]);
    }

    std::string databases;
    for (const auto& database : view.databases) {
        databases += fmt::format("<li class=\"database\" data-database=\"{0}\"><span class=\"badge {1}\">{2}</span> {0}{3}</li>\n",
                                 html_escape(database.name), database.up ? "ok" : "error", database.up ? "up" : "down",
                                 database.up ? "" : ": " + html_escape(database.error));
    }

    std::string silences;
    for (const auto& entry : view.silences)
        silences += fmt::format(
            "<li class=\"silence\" data-silence=\"{}\"><b>{}</b> &middot; {} &middot; by {} &middot; {} left "
            "(until {})</li>\n",
            html_escape(entry.id), html_escape(entry.checks), html_escape(entry.comment), html_escape(entry.created_by),
            html_escape(entry.time_left), html_escape(entry.ends_at));
    if (silences.empty()) silences = "<li class=\"meta\">none</li>\n";

    return fmt::format(R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>invariantd: {firing} firing, {error} error</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em;color:#1a202c;background:#fff}}
h1{{margin:0 0 .2em}} h2{{font-size:1.1em;margin:1.2em 0 .4em}}
table{{border-collapse:collapse;width:100%}} ul{{list-style:none;padding:0;margin:0}} li{{margin:.2em 0}}
td,th{{white-space:nowrap;padding:.35em .7em;border-bottom:1px solid #e2e8f0;text-align:left;vertical-align:top}}
th{{background:#f7fafc;font-weight:600}} td.value{{font-variant-numeric:tabular-nums;text-align:right}}
td.error{{white-space:normal;color:#742a2a;max-width:40em;overflow-wrap:anywhere}} .meta{{color:#4a5568}} a.json{{font-size:.8em;margin-left:.4em}} .offenders,.silenced,.maintenance{{font-size:.85em;color:#4a5568}} .silenced{{color:#975a16}}
.badge{{display:inline-block;padding:.15em .6em;border-radius:.3em;color:#fff;font-weight:600}}
.badge.ok{{background:#1f7a3a}} .badge.pending{{background:#b7791f}}
.badge.firing{{background:#c53030}} .badge.error{{background:#6b46c1}}
</style></head><body>
<h1>invariantd</h1>
<p class="meta">version {version} &middot; generated {generated} (refreshes every 30 s) &middot;
<a href="/metrics">metrics</a> &middot; <a href="/health">health</a> &middot;
<a href="/api/v1/checks">checks (JSON)</a> &middot; <a href="/api/v1/alerts">alerts (JSON)</a></p>
<p id="summary">{summary}</p>
<h2>Databases</h2>
<ul id="databases">
{databases}</ul>
<h2>Silences</h2>
<ul id="silences">
{silences}</ul>
<h2>Checks</h2>
<table id="checks"><thead><tr><th>check</th><th>state</th><th>value</th><th>alert when</th><th>module</th>
<th>database</th><th>last run</th><th>last success</th><th>error</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
)",
                       fmt::arg("firing", counts[0]), fmt::arg("error", counts[1]),
                       fmt::arg("version", html_escape(view.version)), fmt::arg("generated", html_escape(view.generated_at)),
                       fmt::arg("summary", summary), fmt::arg("databases", databases), fmt::arg("rows", rows),
                       fmt::arg("silences", silences));
}

}  // namespace invariantd
