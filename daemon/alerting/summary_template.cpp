#include "daemon/alerting/summary_template.hpp"

#include <fmt/format.h>

#include "daemon/common/value_format.hpp"

namespace invariantd {
namespace {

/// A placeholder's value: a number (filters apply), a text, or unknown.
struct placeholder_value {
    std::optional<double> number;
    std::string text;
    bool known = true;
};

placeholder_value value_of(std::string_view name, const config::check_config& check,
                           const checks::module_output& output, const offender_summary& offenders) {
    auto number = [](double v) { return placeholder_value{v, {}, true}; };
    auto text = [](std::string v) { return placeholder_value{std::nullopt, std::move(v), true}; };
    if (name == "offenders.new") return number(static_cast<double>(offenders.new_count));
    if (name == "offenders.persisting") return number(static_cast<double>(offenders.persisting));
    if (name == "offenders.cleared") return number(static_cast<double>(offenders.cleared));
    if (name == "offenders.oldest_age") return text(format_age(offenders.oldest_age.value_or(duration(0))));
    if (name == "value") return number(output.value);
    if (name == "threshold") return check.alert.when ? number(check.alert.when->threshold) : text("");
    if (name == "check") return text(check.name);
    if (name == "database") return text(check.database);
    if (name == "module") return text(check.module);
    if (name == "severity") return text(check.alert.severity);
    if (name.rfind("details.", 0) == 0) {
        const std::string_view detail = name.substr(8);
        for (const auto& [key, value] : output.details) {
            if (key == detail) return number(value);
        }
    }
    return {std::nullopt, {}, false};
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    return text;
}

}  // namespace

std::string render_summary(const config::check_config& check, const checks::module_output& output,
                           const offender_summary& offenders) {
    std::string text;
    if (check.alert.summary.empty()) {
        text = fmt::format("{}: value {}{} on {}", check.name, config::format_number(output.value),
                           check.alert.when ? " (alert when " + check.alert.when->to_string() + ")" : "",
                           check.database);
    } else {
        const std::string& pattern = check.alert.summary;
        std::size_t pos = 0;
        while (pos < pattern.size()) {
            const auto open = pattern.find("{{", pos);
            if (open == std::string::npos) {
                text += pattern.substr(pos);
                break;
            }
            const auto close = pattern.find("}}", open + 2);
            if (close == std::string::npos) {
                text += pattern.substr(pos);
                break;
            }
            text += pattern.substr(pos, open - pos);
            // {{name}} or {{name | filter}}; the loader has refused unknown filters.
            const auto inner = std::string_view(pattern).substr(open + 2, close - open - 2);
            const auto bar = inner.find('|');
            const auto found = value_of(trim(inner.substr(0, bar)), check, output, offenders);
            std::optional<summary_filter> filter;
            if (bar != std::string_view::npos) filter = parse_summary_filter(inner.substr(bar + 1));
            if (!found.known || (bar != std::string_view::npos && !filter))
                text += pattern.substr(open, close + 2 - open);
            else if (found.number)
                text += filter ? apply_filter(*found.number, *filter) : config::format_number(*found.number);
            else
                text += found.text;
            pos = close + 2;
        }
    }
    return cut_summary(std::move(text));
}

std::string cut_summary(std::string text) {
    if (text.size() > max_summary_length) {
        // Cut on a character boundary: back up over UTF-8 continuation bytes.
        std::size_t cut = max_summary_length - 3;  // room for "…" (3 bytes)
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        text.resize(cut);
        text += "\xE2\x80\xA6";
    }
    return text;
}

}  // namespace invariantd
