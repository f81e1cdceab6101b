#include "tests/support/demo_world.hpp"

#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "tests/support/process.hpp"

namespace invariantd::test {

std::string write_demo_world(const temp_dir& dir, const std::string& extra_yaml) {
    // Same layout as the repository: config/demo.yaml refers to ../demo/*.db.
    std::filesystem::create_directories(dir.path() / "config");
    std::string config = read_file(source_path("config/demo.yaml"));
    config = std::regex_replace(config, std::regex("127\\.0\\.0\\.1:9898"), "127.0.0.1:0") + extra_yaml;
    const auto path = (dir.path() / "config/demo.yaml").string();
    std::ofstream(path) << config;
    const auto built = run_command({source_path("deploy/make-demo-databases.sh"), (dir.path() / "demo").string()});
    if (built.exit_code != 0) throw std::runtime_error("make-demo-databases failed: " + built.err);
    return path;
}

}  // namespace invariantd::test
