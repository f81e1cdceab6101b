#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace invariantd {

/// RFC 3339 / ISO 8601 UTC timestamp with millisecond precision: 2026-11-22T10:15:00.123Z.
std::string format_rfc3339(std::chrono::system_clock::time_point when);

/// Parses RFC 3339 text with a zone: 2026-12-05T22:00:00Z, 2026-12-05T23:00:00.5+01:00
/// ('t', 'z' and a space for 'T' are accepted, as RFC 3339 allows). nullopt when malformed or
/// not a real date and time.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);
/// Seconds since the Unix epoch as a double, for *_timestamp_seconds gauges.
double unix_seconds(std::chrono::system_clock::time_point when);

}  // namespace invariantd
