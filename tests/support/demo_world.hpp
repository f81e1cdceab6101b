#pragma once
/// The embedded default in a temp dir: the demo databases built by
/// deploy/make-demo-databases.sh and config/demo.yaml, listening on a free port.
#include <string>

#include "tests/support/temp_dir.hpp"

namespace invariantd::test {

/// Builds `dir`/demo/*.db and writes `dir`/config/demo.yaml (listen 127.0.0.1:0, `extra_yaml`
/// appended as further top-level keys); returns the config path.
std::string write_demo_world(const temp_dir& dir, const std::string& extra_yaml = "");

}  // namespace invariantd::test
