#pragma once
#include <chrono>
#include <string>

namespace invariantd {

/// RFC 3339 / ISO 8601 UTC timestamp with millisecond precision: 2026-11-22T10:15:00.123Z.
std::string format_rfc3339(std::chrono::system_clock::time_point when);

/// Seconds since the Unix epoch as a double, for *_timestamp_seconds gauges.
double unix_seconds(std::chrono::system_clock::time_point when);

}  // namespace invariantd
