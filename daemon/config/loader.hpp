#pragma once
#include <string>

#include "daemon/config/config.hpp"

namespace invariantd::config {

/// Loads and validates a configuration file. Throws config_exception listing every error
/// of the file with its position; `${VAR}` and `${file:PATH}` are expanded while loading.
/// Relative paths (sqlite `path`, `state_dir`, `${file:...}`) resolve against the
/// directory of the configuration file, like Prometheus resolves its rule files.
daemon_config load_config_file(const std::string& path);

/// The same for text already in memory; `source_name` is the file name used in errors.
daemon_config load_config_text(const std::string& text, const std::string& source_name,
                               const std::string& base_directory);

}  // namespace invariantd::config
