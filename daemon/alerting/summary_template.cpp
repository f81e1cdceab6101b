#include "daemon/alerting/summary_template.hpp"

#include <fmt/format.h>

namespace invariantd {
namespace {

std::string value_of(std::string_view name, const config::check_config& check, const checks::module_output& output,
                     const offender_summary& offenders, bool& known) {
    known = true;
    if (name == "offenders.new") return std::to_string(offenders.new_count);
    if (name == "offenders.persisting") return std::to_string(offenders.persisting);
    if (name == "offenders.cleared") return std::to_string(offenders.cleared);
    if (name == "offenders.oldest_age") return format_age(offenders.oldest_age.value_or(duration(0)));
    if (name == "value") return config::format_number(output.value);
    if (name == "threshold") return check.alert.when ? config::format_number(check.alert.when->threshold) : "";
    if (name == "check") return check.name;
    if (name == "database") return check.database;
    if (name == "module") return check.module;
    if (name == "severity") return check.alert.severity;
    if (name.rfind("details.", 0) == 0) {
        const std::string_view detail = name.substr(8);
        for (const auto& [key, number] : output.details) {
            if (key == detail) return config::format_number(number);
        }
    }
    known = false;
    return {};
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
                           check.alert.when ? " (alert when " + check.alert.when->to_string() + ")" : "", check.database);
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
            bool known = false;
            const std::string replacement =
                value_of(trim(std::string_view(pattern).substr(open + 2, close - open - 2)), check, output, offenders, known);
            text += known ? replacement : pattern.substr(open, close + 2 - open);
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
