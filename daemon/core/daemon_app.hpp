#pragma once
#include <map>
#include <memory>
#include <string>

#include "daemon/alerting/alert_dispatcher.hpp"
#include "daemon/config/config.hpp"
#include "daemon/core/check_task.hpp"
#include "daemon/core/http_server.hpp"
#include "daemon/core/metrics.hpp"

namespace invariantd {

/// The running daemon: owns the databases, one check_task per check, the metrics, the alert
/// dispatcher and the HTTP server, and applies configuration changes (SIGHUP, POST /-/reload) so that checks
/// whose definition did not change keep their schedule, last result and alert state.
/// Everything runs on the one io_context passed in; no member may be used from another thread.
class daemon_app {
public:
    /// `initial` must be the already-validated content of `config_path`.
    daemon_app(asio::io_context& loop, std::string config_path, config::daemon_config initial);
    ~daemon_app();

    /// Opens the outbox in state_dir and binds the HTTP listener (throws std::runtime_error or
    /// boost::system::system_error when either is unusable), starts every check, the server,
    /// notification delivery and the signal handlers.
    void start();
    /// Loads the configuration file again. Invalid: logs every error, keeps the running
    /// configuration, sets invariantd_config_last_reload_successful to 0, returns the errors.
    std::vector<std::string> reload();
    /// Stops scheduling, waits up to `grace` for running checks, then stops the loop.
    asio::awaitable<void> shutdown(duration grace);

    asio::ip::tcp::endpoint local_endpoint() const { return server_.local_endpoint(); }

    /// The HTTP API (SPEC §5). Public for tests that drive it without sockets.
    asio::awaitable<http_response> handle(const http_request& request);

private:
    struct database_entry {
        config::database_config config;
        std::shared_ptr<db::database> database;
        bool up = true;
        std::string error;
    };

    void apply(config::daemon_config next);
    void on_result(check_task& task, const checks::check_result& result);
    asio::awaitable<void> watch_reload_signal();
    asio::awaitable<void> watch_stop_signals();
    http_response health_response() const;
    http_response status_page() const;
    nlohmann::ordered_json alerts_json() const;
    void refresh_connection_gauges();

    asio::io_context& loop_;
    std::string config_path_;
    config::daemon_config config_;
    daemon_metrics metrics_;
    alert_dispatcher alerts_;
    http_server server_;
    std::map<std::string, database_entry> databases_;
    std::map<std::string, std::shared_ptr<check_task>> tasks_;
    asio::signal_set reload_signal_;
    asio::signal_set stop_signals_;
    bool shutting_down_ = false;
};

/// `invariantd --version` text and the build_info labels.
const char* version_string();
const char* revision_string();

}  // namespace invariantd
