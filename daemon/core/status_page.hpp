#pragma once
/// The human-readable pages (README "Status pages"): the overview at `/` and one page per
/// check at `/checks/{name}`. Each is one self-contained HTML document — inline CSS, inline
/// SVG charts, no scripts, no external assets — so it renders from a jump host or a browser
/// with no internet access, under the Content-Security-Policy the API sends with it.
/// Everything taken from configuration, databases or errors is escaped.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/common/value_format.hpp"

namespace invariantd {

/// What every HTML page sends (SPEC §5).
inline constexpr const char* html_content_security_policy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

struct status_page_database {
    std::string name;
    bool up = false;
    std::string error;  ///< already redacted; shown when down
};

/// An active silence as the overview lists it.
struct status_page_silence {
    std::string id;
    std::string checks;     ///< the patterns, comma-separated
    std::string comment;
    std::string created_by;
    std::string ends_at;    ///< RFC 3339
    std::string time_left;  ///< "1h59m"
};

/// One result of the check's history, for the charts.
struct status_page_point {
    double time = 0;  ///< unix seconds
    std::optional<double> value;
};

/// One check as the pages show it.
struct status_page_check {
    nlohmann::ordered_json check;  ///< the /api/v1/checks/{name} entry (check_to_json, full)
    std::string summary;           ///< the rendered alert summary of the last good run ("" before one)
    value_format format = value_format::number;
    std::optional<double> threshold;  ///< the alert condition's number
    std::string comparator;           ///< its comparator (">", "<=", …), "" without one
    std::vector<status_page_point> history;  ///< oldest first
    std::vector<std::string> sample_lines;   ///< the module's rendering of each sample, same order
    std::vector<std::string> statements;     ///< the SQL of the last run
    std::string runbook_url;
};

struct status_page_view {
    std::string version;
    std::string generated_at;  ///< RFC 3339
    std::vector<status_page_database> databases;
    std::vector<status_page_check> checks;
    std::vector<status_page_silence> silences;  ///< active ones
    std::string filter_state;                   ///< ?state= ("" for all)
    std::string filter_database;                ///< ?database= ("" for all)
};

std::string render_status_page(const status_page_view& view);
/// The page of `view.checks[index]`.
std::string render_check_page(const status_page_view& view, std::size_t index);

/// An inline SVG line of `points` in a `width`×`height` box (empty <svg> with fewer than two
/// values); with `threshold`, a dashed line at it and the axis range widened to include it.
std::string svg_line_chart(const std::vector<status_page_point>& points, int width, int height,
                           std::optional<double> threshold = std::nullopt, bool with_dots = false);

}  // namespace invariantd
