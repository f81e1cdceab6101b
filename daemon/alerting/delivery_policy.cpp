#include "daemon/alerting/delivery_policy.hpp"

#include <ctime>
#include <string>

namespace invariantd {

namespace {
constexpr duration first_retry = std::chrono::seconds(1);
constexpr duration max_retry = std::chrono::minutes(5);
constexpr duration max_retry_after = std::chrono::hours(1);
}  // namespace

delivery_verdict classify_status(int status) {
    if (status >= 200 && status < 300) return delivery_verdict::sent;
    if (status == 408 || status == 429) return delivery_verdict::retry;
    if (status >= 400 && status < 500) return delivery_verdict::dropped;
    return delivery_verdict::retry;
}

duration retry_backoff(unsigned failures, std::mt19937_64& random) {
    duration base = first_retry;
    for (unsigned i = 1; i < failures && base < max_retry; ++i) base *= 2;
    base = std::min(base, max_retry);
    const double factor = std::uniform_real_distribution<double>(0.8, 1.2)(random);
    return duration{static_cast<duration::rep>(static_cast<double>(base.count()) * factor)};
}

std::optional<duration> parse_retry_after(std::string_view value, system_clock::time_point now) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string_view::npos) {
        if (value.size() > 9) return max_retry_after;
        return std::min<duration>(std::chrono::seconds(std::stol(std::string(value))), max_retry_after);
    }
    // IMF-fixdate, e.g. "Wed, 21 Oct 2026 07:28:00 GMT" (RFC 9110 §5.6.7).
    std::tm parts{};
    const std::string text(value);
    const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
    if (end == nullptr || *end != '\0') return std::nullopt;
    const auto when = system_clock::from_time_t(::timegm(&parts));
    if (when <= now) return duration{0};
    return std::min<duration>(std::chrono::duration_cast<duration>(when - now), max_retry_after);
}

duration retry_delay(unsigned failures, std::optional<duration> retry_after, std::mt19937_64& random) {
    const auto backoff = retry_backoff(failures, random);
    return retry_after ? std::max(backoff, *retry_after) : backoff;
}

}  // namespace invariantd
