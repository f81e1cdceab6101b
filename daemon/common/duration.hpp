#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace invariantd {

using duration = std::chrono::milliseconds;

/// Parses a Prometheus-style duration: units y w d h m s ms, largest first, each at most
/// once ("1h30m", "500ms", "0s"). A bare "0" is accepted as zero. Returns nullopt otherwise.
std::optional<duration> parse_duration(std::string_view text);

/// Formats a duration the way Prometheus does ("1h30m", "500ms", "0s").
std::string format_duration(duration value);

/// A duration for people: the largest of d, h, m, s, ms and the next smaller one, the latter
/// omitted when zero ("3d4h", "3d", "5m12s", "45s", "250ms"; "0s"; "-" when negative).
std::string format_age(duration value);

/// Seconds as a double, for metrics and JSON.
inline double to_seconds(duration value) { return static_cast<double>(value.count()) / 1000.0; }

}  // namespace invariantd
