#pragma once
#include <optional>
#include <string>

#include "checks/result.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

/// PagerDuty's limit for payload.summary; every receiver gets the same text.
inline constexpr std::size_t max_summary_length = 1024;

/// Renders a check's alert summary: `{{value}}`, `{{threshold}}`, `{{check}}`, `{{database}}`,
/// `{{module}}`, `{{severity}}` and `{{details.NAME}}` are replaced (numbers rendered like
/// Prometheus: 168, 0.07); an unknown placeholder stays as written so a typo is visible in
/// the page instead of silently vanishing. Without a configured summary the text is
/// "<check>: value <v> (alert when <condition>) on <database>". At most max_summary_length
/// bytes, cut on a UTF-8 character boundary with "…".
/// The offender figures `{{offenders.new}}`, `{{offenders.persisting}}`, `{{offenders.cleared}}`
/// and `{{offenders.oldest_age}}` render (zeros for a check without offenders).
struct offender_summary {
    std::size_t new_count = 0;
    std::size_t persisting = 0;
    std::size_t cleared = 0;
    std::optional<duration> oldest_age;
};

std::string render_summary(const config::check_config& check, const checks::module_output& output,
                           const offender_summary& offenders = {});

/// `text` cut to max_summary_length bytes on a UTF-8 character boundary, ending in "…" when cut.
std::string cut_summary(std::string text);

}  // namespace invariantd
