#pragma once
/// Debian's real Alertmanager on a loopback port (clustering off), routing every alert to one
/// webhook URL with short grouping waits, its v2 API wrapped for tests.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace invariantd::test {

class alertmanager_server {
public:
    /// Writes alertmanager.yml and its data under `work_dir`/`name` and waits for /-/ready.
    alertmanager_server(const temp_dir& work_dir, const std::string& name, const std::string& webhook_url);
    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    /// GET /api/v2/alerts, parsed.
    nlohmann::json alerts() const;
    std::string log() const { return process_->log(); }

private:
    std::uint16_t port_ = 0;
    std::unique_ptr<background_process> process_;
};

}  // namespace invariantd::test
