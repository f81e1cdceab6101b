#include "tests/support/alertmanager_server.hpp"

#include <filesystem>
#include <stdexcept>

#include "tests/support/http_client.hpp"
#include "tests/support/test_receiver.hpp"

namespace invariantd::test {

alertmanager_server::alertmanager_server(const temp_dir& work_dir, const std::string& name,
                                         const std::string& webhook_url) {
    const auto config_path = work_dir.write(
        name + ".yml",
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 1s\n"
        "  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: \"" +
            webhook_url + "\"\n        send_resolved: true\n");
    const auto data = work_dir.path() / (name + "-data");
    std::filesystem::create_directories(data);
    port_ = unused_port();
    process_ = std::make_unique<background_process>(
        std::vector<std::string>{"prometheus-alertmanager", "--config.file=" + config_path,
                                 "--storage.path=" + data.string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--cluster.listen-address=", "--log.level=warn"},
        (work_dir.path() / (name + ".log")).string());
    wait_until_ready(*process_, port_, "/-/ready", "alertmanager");
}

nlohmann::json alertmanager_server::alerts() const {
    return nlohmann::json::parse(http_get(port_, "/api/v2/alerts").body);
}

}  // namespace invariantd::test
