#pragma once
/// The daemon's configuration as typed structs (README.md "Configuration reference"). Produced by the loader, which
/// validates everything; code that receives a daemon_config may rely on it being valid.
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/common/duration.hpp"
#include "daemon/common/value_format.hpp"
#include "daemon/config/condition.hpp"
#include "daemon/db/database.hpp"

namespace invariantd::config {

using namespace std::chrono_literals;

/// One configuration error, positioned in its file (1-based line and column).
struct config_error {
    std::string file;
    int line = 0;
    int column = 0;
    std::string message;
    /// "invariantd.yaml:14:7: unknown key 'intervall' (did you mean 'interval'?)"
    std::string to_string() const;
};

/// Thrown by the loader with every error of the file, in file order.
class config_exception : public std::runtime_error {
public:
    explicit config_exception(std::vector<config_error> errors);
    const std::vector<config_error>& errors() const { return errors_; }

private:
    std::vector<config_error> errors_;
};

/// HTTPS on the daemon's own port (SPEC §3 server.tls); paths absolute after loading.
struct server_tls_config {
    std::string cert_file;
    std::string key_file;
    std::string client_ca_file;  ///< empty: no client certificate asked for
    bool operator==(const server_tls_config&) const = default;
};

/// Basic auth on the daemon's own port (SPEC §3 server.basic_auth), as Prometheus exporters'
/// web configuration: user name → bcrypt hash.
struct basic_auth_config {
    std::map<std::string, std::string> users;
    std::vector<std::string> exempt{"/livez", "/health"};  ///< paths reached without credentials
    bool operator==(const basic_auth_config&) const = default;
};

struct server_config {
    std::string listen = "127.0.0.1:9898";
    std::string host = "127.0.0.1";  ///< from listen; IPv6 without brackets
    std::uint16_t port = 9898;
    std::optional<std::string> api_token;  ///< secret
    duration idle_timeout = 60s;     ///< keep-alive connections idle this long are closed
    duration request_timeout = 10s;  ///< a started request must be complete within this
    std::size_t max_connections = 1024;
    /// Upper bounds (seconds) of invariantd_check_duration_seconds; empty: the default five.
    std::vector<double> duration_buckets;
    std::optional<server_tls_config> tls;
    std::optional<basic_auth_config> basic_auth;
};

struct log_config {
    std::string level = "info";
    std::string format = "text";
};

struct database_config {
    std::string name;
    db::driver_kind driver = db::driver_kind::sqlite;
    std::string dsn;     ///< postgres; secret
    std::string path;    ///< sqlite, absolute after loading
    std::size_t max_connections = 2;
    duration connect_timeout = 5s;
    duration max_lifetime = 1h;
    duration lock_timeout = 1s;  ///< postgres: SET LOCAL lock_timeout, capped by the check timeout
    duration busy_timeout = 5s;
    /// postgres: a database set (SPEC §11) — this statement's first column names the member
    /// databases on the DSN's server; checks on the set run once per member.
    std::string discover;
    duration discover_interval = 5min;
    bool is_set() const { return !discover.empty(); }
    bool operator==(const database_config&) const = default;
};

struct alert_config {
    std::optional<condition> when;  ///< no condition: the check never alerts
    duration for_duration = 0s;
    duration repeat_interval = 4h;
    std::string severity = "error";
    std::size_t error_after = 3;
    std::vector<std::string> receivers;
    std::string summary;
    std::string runbook_url;
    /// While firing, a run that finds new offenders sends the trigger again at once.
    bool notify_on_new = false;
    /// Once firing, resolve only after the condition has been false on every successful run
    /// for this long (Prometheus' keep_firing_for), so a flapping value pages once.
    duration keep_firing_for = 0s;
    bool operator==(const alert_config&) const = default;
};

struct check_config {
    std::string name;
    std::string module;
    std::string database;
    duration interval = 60s;
    duration timeout = 30s;
    std::size_t max_samples = 10;
    std::size_t max_tracked = 1000;  ///< offender keys kept per run (README "Offenders")
    std::optional<value_format> format;  ///< how pages show the value; unset: the module's default
    /// PostgreSQL: statements whose estimated total cost exceeds this are refused (SPEC §11).
    std::optional<double> max_cost;
    duration max_cost_recheck = 1h;  ///< how long a statement's estimate is trusted
    nlohmann::json params;  ///< validated by the module's schema, defaults applied
    alert_config alert;
    bool operator==(const check_config&) const = default;
};

enum class receiver_type { pagerduty, alertmanager, webhook, slack };
const char* to_string(receiver_type type);

struct receiver_config {
    std::string name;
    receiver_type type = receiver_type::webhook;
    std::vector<std::string> urls;
    std::string routing_key;  ///< secret
    std::string hmac_secret;  ///< secret
    duration timeout = 10s;   ///< ours: connect + request + answer, per attempt
    /// ours, alertmanager only: re-post a firing alert this often, and a resolved one for
    /// `resend_resolved_for` after it resolved (Prometheus' resend delay and retention).
    duration resend_interval = 1min;
    duration resend_resolved_for = 15min;
    bool operator==(const receiver_config&) const = default;
};

/// What a maintenance window does to the checks it covers (README "Maintenance windows").
enum class maintenance_action {
    silence,  ///< notifications are held, as under a silence
    pause,    ///< the checks do not run at all (and are silenced)
};
const char* to_string(maintenance_action action);

/// A window that recurs on some days of the week at a local time in an IANA time zone.
struct weekly_schedule {
    std::vector<unsigned> days;     ///< 0 = Sunday … 6 = Saturday, ascending, distinct
    std::chrono::minutes start{0};  ///< local time of day
    duration length = 1h;           ///< elapsed time, at most 7 days
    std::string timezone = "UTC";   ///< checked against the system's tzdata by the loader
    bool operator==(const weekly_schedule&) const = default;
};

struct maintenance_window {
    std::string name;
    std::vector<std::string> checks;  ///< names or globs (* and ?)
    maintenance_action action = maintenance_action::silence;
    std::optional<weekly_schedule> weekly;  ///< either weekly…
    std::optional<system_clock::time_point> from;  ///< …or one-off from/until
    std::optional<system_clock::time_point> until;
    bool operator==(const maintenance_window&) const = default;
};

/// Cluster mode (SPEC §12): replicas coordinate through a PostgreSQL database.
struct cluster_config {
    std::string database;             ///< a `postgres` entry of `databases`; the only database written to
    std::string schema = "invariantd";  ///< where its tables live
    std::string member;               ///< unique per replica; default the host name
    duration lease = std::chrono::seconds(15);  ///< a member silent this long is gone
    bool operator==(const cluster_config&) const = default;
};

struct daemon_config {
    std::string source;  ///< the file it was loaded from
    server_config server;
    std::string state_dir;  ///< absolute after loading
    log_config log;
    std::vector<database_config> databases;
    std::vector<check_config> checks;
    std::vector<receiver_config> receivers;
    std::vector<maintenance_window> maintenance;
    std::optional<cluster_config> cluster;
    /// Every secret value seen while loading (for the log redactor); never printed.
    std::vector<std::string> secrets;

    const database_config* find_database(std::string_view name) const;
    const check_config* find_check(std::string_view name) const;
};

}  // namespace invariantd::config
