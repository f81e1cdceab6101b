// Summary template renderer: any template over any figures renders to at most 1 024 bytes
// (PagerDuty's limit), cut on a UTF-8 character boundary — so a valid template gives valid
// UTF-8 — and never throws. Input: 8 bytes of value, 8 bytes of a detail, then the template.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/alerting/summary_template.hpp"
#include "daemon/common/utf8.hpp"

namespace {

double take_double(const std::uint8_t*& data, std::size_t& size) {
    double value = 0;
    if (size >= sizeof value) {
        std::memcpy(&value, data, sizeof value);
        data += sizeof value;
        size -= sizeof value;
    }
    return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace invariantd;
    config::check_config check;
    check.name = "fuzz_check";
    check.module = "sql";
    check.database = "app";
    checks::module_output output;
    output.value = take_double(data, size);
    output.details = {{"oldest_age_seconds", take_double(data, size)}, {"events_affected", 32}};
    check.alert.summary.assign(reinterpret_cast<const char*>(data), size);
    check.alert.when = config::parse_condition("> 0");

    offender_summary offenders{3, 1, 2, duration(90061000)};
    const std::string text = render_summary(check, output, offenders);
    if (text.size() > max_summary_length) std::abort();
    if (valid_utf8(check.alert.summary) == check.alert.summary && valid_utf8(text) != text) std::abort();
    if (check.alert.summary.empty() && text.find("fuzz_check") == std::string::npos) std::abort();
    return 0;
}
