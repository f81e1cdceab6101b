#pragma once
/// Debian's real Prometheus server on a loopback port, scraping the given targets every
/// second, with its HTTP API wrapped for tests.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace invariantd::test {

struct scrape_job {
    std::string name;
    std::string target;  ///< host:port
    /// More keys of the job, indented as job keys ("    scheme: https\n"), e.g. TLS and basic auth.
    std::string extra;
};

class prometheus_server {
public:
    /// Writes prometheus.yml and the TSDB under `work_dir` and waits until /-/ready answers.
    prometheus_server(const temp_dir& work_dir, const std::vector<scrape_job>& jobs);
    std::uint16_t port() const { return port_; }
    /// GET <path> on the Prometheus API, parsed; throws with the answer when it is not JSON.
    nlohmann::json api(const std::string& path_and_query) const;
    /// An instant query (/api/v1/query); the whole API answer ({status, data | error}).
    nlohmann::json query(const std::string& promql) const;
    std::string log() const { return process_->log(); }

private:
    std::uint16_t port_ = 0;
    std::unique_ptr<background_process> process_;
};

/// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(const std::string& text);

}  // namespace invariantd::test
