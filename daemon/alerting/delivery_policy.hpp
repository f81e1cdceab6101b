#pragma once
/// When to retry a notification and when to give up on it (README.md "Alerts"). Pure functions.
#include <optional>
#include <random>
#include <string_view>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd {

enum class delivery_verdict {
    sent,     ///< 2xx: the receiver has it
    retry,    ///< network error, timeout, 408, 429, 5xx (and 1xx/3xx, which we do not follow)
    dropped,  ///< any other 4xx: resending the same bytes cannot succeed
};

/// `status` 0 means no HTTP answer arrived (connection refused, TLS failure, timeout).
delivery_verdict classify_status(int status);

/// The pause before retry number `failures` (1 = first retry): 1 s, doubling, capped at
/// 5 minutes, each ±20 % at random.
duration retry_backoff(unsigned failures, std::mt19937_64& random);

/// A Retry-After header: delta seconds ("2") or an HTTP date, relative to `now`. nullopt when
/// absent or unreadable. Capped at one hour so a confused receiver cannot park the queue.
std::optional<duration> parse_retry_after(std::string_view value, system_clock::time_point now);

/// The pause after a failed attempt: the backoff, but never less than the receiver asked for.
duration retry_delay(unsigned failures, std::optional<duration> retry_after, std::mt19937_64& random);

}  // namespace invariantd
