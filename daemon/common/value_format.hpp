#pragma once
/// Numbers for people (README "Summaries and formats"): the summary filters `number`,
/// `percent`, `percent100`, `round N` and `duration`, and the same renderings as a check's
/// `format:` on the status page. NaN and infinities render as NaN, +Inf, -Inf everywhere.
#include <optional>
#include <string>
#include <string_view>

namespace invariantd {

/// How a check's value is shown (a check's `format:`; module defaults: sync_failure_rate
/// percent, coverage percent100, every other module number).
enum class value_format { number, percent, percent100, elapsed };  /// elapsed: written `duration`
const char* to_string(value_format format);
std::optional<value_format> parse_value_format(std::string_view name);

/// Like Prometheus: an integral value as `168`, others in shortest round-trip form (`0.07`).
std::string format_plain_number(double value);
/// ×100 (for `percent`), at most one decimal (half away from zero), a trailing `.0` dropped,
/// a space before `%`: 0.0833 → `8.3 %`, 0.07 → `7 %`; `percent100` without the ×100.
std::string format_percent(double value, bool ratio);
/// Seconds → `3d4h`, `3d`, `5m12s`, `45s`, `250ms`; `0s` for zero; a leading `-` when negative.
std::string format_seconds(double seconds);
/// Half away from zero to `digits` decimals (0..12), then the plain number rendering.
std::string format_rounded(double value, int digits);
std::string format_value(double value, value_format format);

/// One `| filter` of a summary placeholder: `percent`, `percent100`, `number`, `duration`,
/// `round N`.
struct summary_filter {
    enum class kind {
        number,
        percent,
        percent100,
        elapsed,
        round
    } what = kind::number;  /// elapsed: `duration`
    int digits = 0;         ///< for round
};
/// Parses a filter's text ("round 2"); nullopt when unknown or malformed.
std::optional<summary_filter> parse_summary_filter(std::string_view text);
std::string apply_filter(double value, const summary_filter& filter);

/// The first placeholder of a summary template whose filter is unknown, as an error message
/// ("unknown filter 'percentt' in {{value | percentt}} (filters: …)"); nullopt when all are known.
std::optional<std::string> summary_filter_error(std::string_view summary);

}  // namespace invariantd
