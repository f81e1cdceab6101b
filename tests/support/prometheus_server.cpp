#include "tests/support/prometheus_server.hpp"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_receiver.hpp"

namespace invariantd::test {

prometheus_server::prometheus_server(const temp_dir& work_dir, const std::vector<scrape_job>& jobs) {
    std::string config = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n";
    for (const auto& job : jobs)
        config += fmt::format("  - job_name: {}\n    static_configs:\n      - targets: [\"{}\"]\n{}", job.name, job.target,
                              job.extra);
    const auto config_path = work_dir.write("prometheus.yml", config);
    port_ = unused_port();
    process_ = std::make_unique<background_process>(
        std::vector<std::string>{"prometheus", "--config.file=" + config_path,
                                 "--storage.tsdb.path=" + (work_dir.path() / "prometheus-data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        (work_dir.path() / "prometheus.log").string());
    wait_until_ready(*process_, port_, "/-/ready", "prometheus");
}

nlohmann::json prometheus_server::api(const std::string& path_and_query) const {
    const auto reply = http_get(port_, path_and_query);
    try {
        return nlohmann::json::parse(reply.body);
    } catch (const std::exception&) {
        throw std::runtime_error(fmt::format("prometheus {} answered {}: {}", path_and_query, reply.status, reply.body));
    }
}

nlohmann::json prometheus_server::query(const std::string& promql) const {
    return api("/api/v1/query?query=" + url_encode(promql));
}

std::string url_encode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace invariantd::test
