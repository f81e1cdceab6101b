#pragma once
#include <string_view>

#include <spdlog/spdlog.h>

namespace invariantd {

/// Configures the default spdlog logger: stderr, `level` (trace|debug|info|warn|error) and
/// `format` ("text" or "json", one JSON object per line). Every line passes through the
/// secret registry before it is written. Call from the main thread before the loop starts
/// and again on reload; spdlog's default logger is thread-safe.
void configure_logging(std::string_view level, std::string_view format);

}  // namespace invariantd
