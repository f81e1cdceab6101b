#pragma once
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace invariantd::test {

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    /// Writes `content` to `name` inside the directory and returns the full path.
    std::string write(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path path_;
};

/// Reads a whole file ("" when it does not exist).
std::string read_file(const std::filesystem::path& path);

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns its last value.
/// The way tests wait for the daemon: never a fixed sleep.
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace invariantd::test
