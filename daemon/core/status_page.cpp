#include "daemon/core/status_page.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

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

/// A member of a JSON object, or null when absent (a const operator[] would assert).
const nlohmann::ordered_json& field(const nlohmann::ordered_json& object, const char* key) {
    static const nlohmann::ordered_json null_value;
    if (!object.is_object()) return null_value;
    const auto it = object.find(key);
    return it == object.end() ? null_value : *it;
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

/// A detail as a person reads it: `*_seconds` figures as durations, others as numbers.
std::string detail_text(const std::string& name, const nlohmann::ordered_json& value) {
    if (!value.is_number()) return text_or(value, "");
    const double number = value.get<double>();
    return html_escape(name.ends_with("_seconds") ? format_seconds(number) : format_plain_number(number));
}

std::string value_text(const status_page_check& entry) {
    const auto& value = field(entry.check, "value");
    if (!value.is_number()) return "&ndash;";
    return html_escape(format_value(value.get<double>(), entry.format));
}

/// "alert when > 5 %", in the check's format.
std::string threshold_text(const status_page_check& entry) {
    if (!entry.threshold) return "";
    return html_escape("alert when " + entry.comparator + " " + format_value(*entry.threshold, entry.format));
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
    if (check.contains("silenced_until") && field(check, "silenced_until").is_string())
        out += fmt::format("<div class=\"silenced\">silenced until {}: {}</div>",
                           time_cell(field(check, "silenced_until")),
                           text_or(field(check, "silence_comment"), ""));
    if (check.contains("maintenance") && field(check, "maintenance").is_object()) {
        const auto& window = field(check, "maintenance");
        const bool active = window.value("active", false);
        out += fmt::format(
            "<div class=\"maintenance\">{} {} ({}) {}</div>",
            active ? "in maintenance window" : "next maintenance window", text_or(field(window, "name"), ""),
            text_or(field(window, "action"), ""),
            active ? "until " + time_cell(field(window, "end"))
                   : time_cell(field(window, "start")) + " &ndash; " + time_cell(field(window, "end")));
    }
    return out;
}

constexpr const char* style = R"(
:root{color-scheme:light dark;--fg:#1a202c;--bg:#fff;--muted:#4a5568;--line:#e2e8f0;--head:#f7fafc;--chart:#2b6cb0;--bar:#4a5568}
@media (prefers-color-scheme:dark){:root{--fg:#e2e8f0;--bg:#171923;--muted:#a0aec0;--line:#2d3748;--head:#1a202c;--chart:#63b3ed;--bar:#a0aec0}}
*{box-sizing:border-box} body{font-family:system-ui,sans-serif;margin:0 auto;padding:1em;max-width:1400px;color:var(--fg);background:var(--bg)}
h1{margin:0 0 .2em;font-size:1.5em} h2{font-size:1.1em;margin:1.2em 0 .4em} a{color:var(--chart)}
table{border-collapse:collapse;width:100%} ul{list-style:none;padding:0;margin:0} li{margin:.2em 0}
td,th{padding:.35em .5em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;overflow-wrap:break-word}
td.name,td.error{overflow-wrap:anywhere}
th{background:var(--head);font-weight:600} td.value{font-variant-numeric:tabular-nums;white-space:nowrap}
td.error,.error{color:#9b2c2c} .meta,.offenders,.silenced,.maintenance,.condition{color:var(--muted);font-size:.85em}
.silenced{color:#975a16} .headline{font-weight:600} a.json{font-size:.8em;margin-left:.4em} .filters a{margin-right:.6em}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;color:#fff;font-weight:600;white-space:nowrap}
.badge.ok{background:#1f7a3a} .badge.pending{background:#b7791f} .badge.firing{background:#c53030} .badge.error{background:#6b46c1}
svg.spark{display:block;margin-top:.2em} svg.history{max-width:640px;display:block} svg .line{fill:none;stroke:var(--chart);stroke-width:1.5}
svg .threshold{stroke:#e53e3e;stroke-dasharray:4 3;stroke-width:1} svg .dot{fill:var(--chart)} svg .dot.failed{fill:#805ad5}
svg .bar{fill:var(--bar)} svg text{fill:var(--fg);font-size:12px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--head);padding:.6em;border-radius:.3em;font-size:.85em}
.samples td{font-size:.9em} .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18em,1fr));gap:1em}
@media (max-width:800px){.wide{display:none}}
)";

std::string page(const std::string& title, const std::string& body) {
    return fmt::format(R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>{}</title>
<style>{}</style></head><body>
{}</body></html>
)",
                       title, style, body);
}

std::string filter_link(const status_page_view& view, const std::string& state, const std::string& database,
                        const std::string& label) {
    std::string query;
    if (!state.empty()) query += "state=" + state;
    if (!database.empty()) query += std::string(query.empty() ? "" : "&") + "database=" + database;
    const bool current = state == view.filter_state && database == view.filter_database;
    return fmt::format("<a href=\"/{}{}\"{}>{}</a>", query.empty() ? "" : "?", html_escape(query),
                       current ? " aria-current=\"page\"" : "", html_escape(label));
}

/// Cluster mode: " · runs on member X" (or that no member is live); "" otherwise.
std::string owner_text(const nlohmann::ordered_json& check) {
    if (!check.contains("owner")) return "";
    const auto& owner = check["owner"];
    return owner.is_string() ? " &middot; runs on member <span class=\"owner\">" + html_escape(owner.get<std::string>()) + "</span>"
                             : std::string(" &middot; no live member runs it");
}

std::string check_row(const status_page_check& entry) {
    const auto& check = entry.check;
    const auto name = field(check, "name").get<std::string>();
    const auto state = field(check, "state").get<std::string>();
    const std::string headline =
        entry.summary.empty() ? "" : "<div class=\"headline\">" + html_escape(entry.summary) + "</div>";
    // Check names match [a-z0-9_]+ (config rule), so the name is a safe path segment as is.
    return fmt::format(
        "<tr class=\"check {state}\" data-check=\"{name}\" data-state=\"{state}\">"
        "<td class=\"name\"><a href=\"/checks/{name}\">{name}</a> <a class=\"json\" "
        "href=\"/api/v1/checks/{name}\">JSON</a>"
        "{headline}{offenders}{mutes}</td>"
        "<td><span class=\"badge {state}\">{state}</span></td>"
        "<td class=\"value\">{value}<div class=\"condition\">{condition}</div>{spark}</td>"
        "<td class=\"wide\">{database}<div class=\"meta\">{module}{owner}</div></td>"
        "<td>{last_run}<div class=\"meta\">last success {last_success}</div></td><td "
        "class=\"error\">{error}</td></tr>\n",
        fmt::arg("state", html_escape(state)), fmt::arg("name", html_escape(name)),
        fmt::arg("headline", headline), fmt::arg("value", value_text(entry)),
        fmt::arg("condition", threshold_text(entry)),
        fmt::arg("spark", svg_line_chart(entry.history, 120, 28)),
        fmt::arg("module", text_or(field(check, "module"), "")),
        fmt::arg("database", text_or(field(check, "database"), "")), fmt::arg("owner", owner_text(check)),
        fmt::arg("last_run", time_cell(field(check, "last_run"))),
        fmt::arg("last_success", time_cell(field(check, "last_success"))),
        fmt::arg("error", text_or(field(check, "error"), "")), fmt::arg("offenders", offenders_line(check)),
        fmt::arg("mutes", mute_lines(check)));
}

std::string format_coordinate(double value) {
    return fmt::format("{:.1f}", value);
}

/// Horizontal bars, largest first, each with its label and value.
std::string svg_bar_chart(const nlohmann::ordered_json& breakdown, value_format format) {
    std::vector<std::pair<std::string, double>> bars;
    for (const auto& entry : breakdown)
        if (entry.contains("value") && entry["value"].is_number())
            bars.emplace_back(entry.value("group", ""), entry["value"].get<double>());
    if (bars.empty()) return "<p class=\"meta\">no breakdown</p>";
    std::stable_sort(bars.begin(), bars.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    double largest = 0;
    for (const auto& [group, value] : bars) largest = std::max(largest, std::fabs(value));
    const int row = 22, label_width = 220, bar_width = 360;
    std::string out = fmt::format(
        "<svg class=\"breakdown\" role=\"img\" aria-label=\"breakdown\" viewBox=\"0 0 {} {}\" width=\"100%\" "
        "style=\"max-width:{}px\" xmlns=\"http://www.w3.org/2000/svg\">",
        label_width + bar_width + 90, row * static_cast<int>(bars.size()), label_width + bar_width + 90);
    for (std::size_t i = 0; i < bars.size(); ++i) {
        const auto& [group, value] = bars[i];
        const double length = largest > 0 ? bar_width * std::fabs(value) / largest : 0;
        const int y = static_cast<int>(i) * row;
        out += fmt::format(
            "<g class=\"bar-row\" data-group=\"{0}\"><text x=\"{1}\" y=\"{2}\" text-anchor=\"end\">{0}</text>"
            "<rect class=\"bar\" x=\"{3}\" y=\"{4}\" width=\"{5}\" height=\"{6}\"></rect>"
            "<text x=\"{7}\" y=\"{2}\">{8}</text></g>",
            html_escape(group), label_width - 6, y + 15, label_width, y + 4,
            format_coordinate(std::max(length, 1.0)), row - 8, format_coordinate(label_width + length + 6),
            html_escape(format_value(value, format)));
    }
    return out + "</svg>";
}

std::string samples_table(const status_page_check& entry) {
    const auto& samples = field(entry.check, "samples");
    if (!samples.is_array() || samples.empty()) return "<p class=\"meta\">no samples</p>";
    std::vector<std::string> fields;
    for (const auto& sample : samples)
        for (const auto& [field, value] : sample.items())
            if (std::find(fields.begin(), fields.end(), field) == fields.end()) fields.push_back(field);
    std::string out = "<table class=\"samples\"><thead><tr><th>offender</th>";
    for (const auto& field : fields) out += "<th>" + html_escape(field) + "</th>";
    out += "</tr></thead><tbody>\n";
    for (std::size_t i = 0; i < samples.size(); ++i) {
        out += "<tr><td class=\"line\">" +
               (i < entry.sample_lines.size() ? html_escape(entry.sample_lines[i]) : "") + "</td>";
        for (const auto& field : fields) {
            const auto it = samples[i].find(field);
            out += "<td>" + (it == samples[i].end() ? std::string() : text_or(*it, "NULL")) + "</td>";
        }
        out += "</tr>\n";
    }
    return out + "</tbody></table>";
}

}  // namespace

std::string svg_line_chart(const std::vector<status_page_point>& points, int width, int height,
                           std::optional<double> threshold, bool with_dots) {
    std::vector<std::pair<double, double>> values;
    for (const auto& point : points)
        if (point.value && std::isfinite(*point.value)) values.emplace_back(point.time, *point.value);
    const std::string open = fmt::format(
        "<svg class=\"{}\" role=\"img\" aria-label=\"value history\" viewBox=\"0 0 {} {}\" width=\"{}\" "
        "height=\"{}\" "
        "xmlns=\"http://www.w3.org/2000/svg\">",
        with_dots ? "history" : "spark", width, height, with_dots ? "100%" : std::to_string(width), height);
    if (values.size() < 2 && !with_dots) return open + "</svg>";
    double low = std::numeric_limits<double>::max(), high = std::numeric_limits<double>::lowest();
    for (const auto& [time, value] : values) {
        low = std::min(low, value);
        high = std::max(high, value);
    }
    if (threshold && std::isfinite(*threshold)) {
        low = std::min(low, *threshold);
        high = std::max(high, *threshold);
    }
    if (values.empty() && !threshold) low = high = 0;
    if (high - low < 1e-12) {
        low -= 1;
        high += 1;
    }
    const double pad = 3;
    const double first = points.empty() ? 0 : points.front().time;
    const double last = points.empty() ? 1 : points.back().time;
    const double span = last - first > 0 ? last - first : 1;
    auto x = [&](double time) {
        return pad + (width - 2 * pad) * (points.size() < 2 ? 0.5 : (time - first) / span);
    };
    auto y = [&](double value) { return pad + (height - 2 * pad) * (high - value) / (high - low); };
    std::string out = open;
    if (threshold && std::isfinite(*threshold))
        out += fmt::format("<line class=\"threshold\" x1=\"0\" x2=\"{}\" y1=\"{}\" y2=\"{}\"></line>", width,
                           format_coordinate(y(*threshold)), format_coordinate(y(*threshold)));
    if (values.size() >= 2) {
        std::string path;
        for (const auto& [time, value] : values)
            path += format_coordinate(x(time)) + "," + format_coordinate(y(value)) + " ";
        path.pop_back();
        out += "<polyline class=\"line\" points=\"" + path + "\"></polyline>";
    }
    if (with_dots) {
        out += fmt::format(
            "<text class=\"axis\" x=\"{}\" y=\"12\">{}</text><text class=\"axis\" x=\"{}\" "
            "y=\"{}\">{}</text>",
            pad + 2, html_escape(format_plain_number(high)), pad + 2, height - pad - 2,
            html_escape(format_plain_number(low)));
    }
    if (with_dots)
        for (const auto& point : points) {
            const bool failed = !point.value || !std::isfinite(*point.value);
            out += fmt::format("<circle class=\"dot{}\" cx=\"{}\" cy=\"{}\" r=\"2.5\"></circle>",
                               failed ? " failed" : "", format_coordinate(x(point.time)),
                               format_coordinate(failed ? height - pad : y(*point.value)));
        }
    return out + "</svg>";
}

std::string render_status_page(const status_page_view& view) {
    std::vector<const status_page_check*> shown;
    std::array<int, state_order.size() + 1> counts{};
    for (const auto& entry : view.checks) {
        const auto state = field(entry.check, "state").get<std::string>();
        ++counts[static_cast<std::size_t>(state_rank(state))];
        if (!view.filter_state.empty() && state != view.filter_state) continue;
        if (!view.filter_database.empty() && entry.check.value("database", "") != view.filter_database)
            continue;
        shown.push_back(&entry);
    }
    std::stable_sort(shown.begin(), shown.end(), [](const auto* a, const auto* b) {
        return state_rank(field(a->check, "state").template get<std::string>()) <
               state_rank(field(b->check, "state").template get<std::string>());
    });
    std::string rows;
    for (const auto* entry : shown) rows += check_row(*entry);
    if (rows.empty()) rows = "<tr><td colspan=\"6\" class=\"meta\">no check matches this filter</td></tr>\n";

    // Only the states that occur: a page without red on it means nothing is firing.
    std::string summary = fmt::format("{} checks: ", view.checks.size());
    for (std::size_t i = 0; i < state_order.size(); ++i) {
        if (counts[i] > 0)
            summary += fmt::format("<span class=\"badge {0}\">{1} {0}</span> ", state_order[i], counts[i]);
    }
    std::string filters = "<p class=\"filters\">state: " + filter_link(view, "", view.filter_database, "all");
    for (const char* state : state_order) filters += filter_link(view, state, view.filter_database, state);
    filters += " &middot; database: " + filter_link(view, view.filter_state, "", "all");
    for (const auto& database : view.databases)
        filters += filter_link(view, view.filter_state, database.name, database.name);
    filters += "</p>";

    std::string databases;
    for (const auto& database : view.databases) {
        databases += fmt::format(
            "<li class=\"database\" data-database=\"{0}\"><span class=\"badge {1}\">{2}</span> {0}{3}</li>\n",
            html_escape(database.name), database.up ? "ok" : "error", database.up ? "up" : "down",
            database.up ? "" : ": " + html_escape(database.error));
    }
    std::string silences;
    for (const auto& entry : view.silences)
        silences += fmt::format(
            "<li class=\"silence\" data-silence=\"{}\"><b>{}</b> &middot; {} &middot; by {} &middot; {} left "
            "(until {})</li>\n",
            html_escape(entry.id), html_escape(entry.checks), html_escape(entry.comment),
            html_escape(entry.created_by), html_escape(entry.time_left), html_escape(entry.ends_at));
    if (silences.empty()) silences = "<li class=\"meta\">none</li>\n";

    const std::string body = fmt::format(
        R"(<h1>invariantd</h1>
<p class="meta">version {version} &middot; generated {generated} (refreshes every 30 s) &middot;
<a href="/metrics">metrics</a> &middot; <a href="/health">health</a> &middot;
<a href="/api/v1/checks">checks (JSON)</a> &middot; <a href="/api/v1/alerts">alerts (JSON)</a></p>
<p id="summary">{summary}</p>
{filters}
<h2>Checks</h2>
<table id="checks"><thead><tr><th>check</th><th>state</th><th>value</th><th class="wide">database</th>
<th>last run</th><th>error</th></tr></thead>
<tbody>
{rows}</tbody></table>
<div class="grid"><div><h2>Databases</h2>
<ul id="databases">
{databases}</ul></div><div><h2>Silences</h2>
<ul id="silences">
{silences}</ul></div></div>
)",
        fmt::arg("version", html_escape(view.version)), fmt::arg("generated", html_escape(view.generated_at)),
        fmt::arg("summary", summary), fmt::arg("filters", filters), fmt::arg("rows", rows),
        fmt::arg("databases", databases), fmt::arg("silences", silences));
    return page(fmt::format("invariantd: {} firing, {} error", counts[0], counts[1]), body);
}

std::string render_check_page(const status_page_view& view, std::size_t index) {
    const auto& entry = view.checks.at(index);
    const auto& check = entry.check;
    const auto name = html_escape(field(check, "name").get<std::string>());
    const auto state = html_escape(field(check, "state").get<std::string>());

    std::string details;
    if (check.contains("details") && field(check, "details").is_object())
        for (const auto& [detail, value] : field(check, "details").items())
            details += "<tr><th>" + html_escape(detail) + "</th><td class=\"value\">" +
                       detail_text(detail, value) + "</td></tr>\n";
    if (details.empty()) details = "<tr><td class=\"meta\">none</td></tr>\n";
    std::string statements;
    for (const auto& sql : entry.statements)
        statements += "<pre class=\"statement\">" + html_escape(sql) + "</pre>\n";
    if (statements.empty()) statements = "<p class=\"meta\">not run yet</p>\n";
    std::string last_run = "<p>last run " + time_cell(field(check, "last_run"));
    if (field(check, "duration_seconds").is_number())
        last_run += " took " + html_escape(format_seconds(field(check, "duration_seconds").get<double>()));
    last_run += " &middot; last success " + time_cell(field(check, "last_success")) + "</p>";
    if (field(check, "error").is_string())
        last_run += "<p class=\"error\" id=\"last-error\">" + text_or(field(check, "error"), "") + "</p>";
    const std::string runbook =
        entry.runbook_url.empty()
            ? ""
            : " &middot; <a href=\"" + html_escape(entry.runbook_url) + "\">runbook</a>";

    const std::string body = fmt::format(
        R"(<p class="meta"><a href="/">&larr; all checks</a> &middot; <a href="/api/v1/checks/{name}">JSON</a> &middot;
<a href="/api/v1/checks/{name}/offenders">offenders (JSON)</a> &middot; <a href="/api/v1/checks/{name}/history?limit=500">history (JSON)</a>{runbook}</p>
<h1 data-check="{name}" data-state="{state}">{name} <span class="badge {state}">{state}</span></h1>
<p class="headline" id="summary">{summary}</p>
<p id="value"><span class="value">{value}</span> <span class="condition">{condition}</span></p>
<p class="meta">{module} on {database} &middot; every {interval}{owner}</p>
{offenders}{mutes}
<h2>History</h2>
{history}
<div class="grid"><div><h2>Breakdown</h2>
{breakdown}</div><div><h2>Details</h2>
<table id="details">{details}</table></div></div>
<h2>Samples</h2>
{samples}
<h2>Last run</h2>
{last_run}
<h2>Statements</h2>
{statements})",
        fmt::arg("name", name), fmt::arg("state", state), fmt::arg("runbook", runbook),
        fmt::arg("summary", entry.summary.empty() ? "no successful run yet" : html_escape(entry.summary)),
        fmt::arg("value", value_text(entry)), fmt::arg("condition", threshold_text(entry)),
        fmt::arg("module", text_or(field(check, "module"), "")),
        fmt::arg("database", text_or(field(check, "database"), "")),
        fmt::arg("interval", text_or(field(check, "interval"), "")), fmt::arg("owner", owner_text(check)),
        fmt::arg("offenders", offenders_line(check)), fmt::arg("mutes", mute_lines(check)),
        fmt::arg("history", svg_line_chart(entry.history, 640, 160, entry.threshold, true)),
        fmt::arg("breakdown",
                 svg_bar_chart(check.value("breakdown", nlohmann::ordered_json::array()), entry.format)),
        fmt::arg("details", details), fmt::arg("samples", samples_table(entry)),
        fmt::arg("last_run", last_run), fmt::arg("statements", statements));
    return page(fmt::format("{}: {} — invariantd", name, state), body);
}

}  // namespace invariantd
