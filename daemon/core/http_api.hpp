#pragma once
/// The HTTP API (README.md "HTTP endpoints"), apart from the connection handling
/// (http_server) and the daemon's wiring (daemon_app), as Beast's examples keep
/// handle_request apart from the session. It reads the daemon through `daemon_view` and may
/// ask it for these actions only: run a check, reload the configuration, add or end a silence.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/alerting/alert_pipeline.hpp"
#include "daemon/core/basic_auth.hpp"
#include "daemon/core/check_task.hpp"
#include "daemon/core/http_server.hpp"
#include "daemon/core/status_page.hpp"

namespace invariantd {

namespace cluster {
class coordinator;
}

/// One database as the API reports it.
struct database_health {
    std::string name;
    bool up = true;
    std::string error;  ///< secret-free
};

/// What the API may see of the running daemon, and the few things it may ask of it.
class daemon_view {
public:
    virtual ~daemon_view() = default;
    virtual const config::server_config& server() const = 0;
    /// Check tasks by instance name, in name order.
    virtual const std::map<std::string, std::shared_ptr<check_task>>& tasks() const = 0;
    virtual std::vector<database_health> databases() const = 0;
    virtual const alert_pipeline& alerts() const = 0;
    /// The /metrics body (Prometheus text; gzip-compressed when `gzip`), from the prepared body.
    virtual asio::awaitable<std::string> metrics_body(bool gzip) = 0;
    /// Returns once /metrics shows every change made before the call (for answers that
    /// promise their results are visible).
    virtual asio::awaitable<void> metrics_settled() = 0;
    virtual bool shutting_down() const = 0;
    /// Loads the configuration file again; the errors, empty when it worked.
    virtual std::vector<std::string> reload() = 0;
    /// Adds a validated silence (its id assigned here) and applies it at once.
    virtual silence add_silence(silence entry) = 0;
    /// Ends silence `id` now; nullopt for an unknown id.
    virtual std::optional<silence> expire_silence(const std::string& id) = 0;
    /// Cluster mode's membership (SPEC §12), nullptr when not in cluster mode.
    virtual const cluster::coordinator* cluster() const { return nullptr; }
};

class http_api {
public:
    explicit http_api(daemon_view& daemon) : daemon_(daemon) {}
    asio::awaitable<http_response> handle(const http_request& request);
    /// server.basic_auth to enforce from now on (at start and on every reload).
    void configure_basic_auth(const std::optional<config::basic_auth_config>& settings) { basic_auth_.configure(settings); }

private:
    http_response health_response() const;
    /// Everything the HTML pages show; `query` holds the overview's filters; `only` limits it
    /// to one check (its page).
    status_page_view page_view(std::string_view query, const std::string* only = nullptr) const;
    http_response status_page(std::string_view query) const;
    http_response history_response(const check_task& task, std::string_view query) const;
    nlohmann::ordered_json alerts_json() const;
    nlohmann::ordered_json silences_json() const;
    nlohmann::ordered_json maintenance_json() const;
    nlohmann::ordered_json cluster_json() const;
    /// Adds `owner` (cluster mode) to a check's JSON.
    void add_owner(nlohmann::ordered_json& check, const std::string& instance) const;
    http_response offenders_response(const check_task& task, std::string_view query) const;

    daemon_view& daemon_;
    basic_auth_gate basic_auth_;
};

/// `invariantd --version` text and the build_info labels.
const char* version_string();
const char* revision_string();

}  // namespace invariantd
