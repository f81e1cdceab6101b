#pragma once
#include <map>
#include <memory>
#include <set>
#include <string>

#include "daemon/alerting/alert_pipeline.hpp"
#include "daemon/cluster/coordinator.hpp"
#include "daemon/config/config.hpp"
#include "daemon/core/check_task.hpp"
#include "daemon/core/database_sets.hpp"
#include "daemon/core/http_api.hpp"
#include "daemon/core/http_server.hpp"
#include "daemon/core/metrics.hpp"
#include "daemon/core/metrics_publisher.hpp"

namespace invariantd {

/// The running daemon: owns the databases, one check_task per check instance, the metrics,
/// the alert pipeline, the HTTP server and its API, and applies configuration changes
/// (SIGHUP, POST /-/reload) so that checks whose definition did not change keep their
/// schedule and last result (their alert state lives in the pipeline's book, keyed by
/// instance, and survives any change). Everything runs on the one io_context passed in; no
/// member may be used from another thread.
class daemon_app final : public daemon_view {
public:
    /// `initial` must be the already-validated content of `config_path`.
    daemon_app(asio::io_context& loop, std::string config_path, config::daemon_config initial);
    ~daemon_app() override;

    /// Opens the state in state_dir and binds the HTTP listener (throws std::runtime_error or
    /// boost::system::system_error when either is unusable), starts every check, the server,
    /// notification delivery and the signal handlers.
    void start();
    /// Loads the configuration file again. Invalid: logs every error, keeps the running
    /// configuration, sets invariantd_config_last_reload_successful to 0, returns the errors.
    std::vector<std::string> reload() override;
    /// Stops scheduling, waits up to `grace` for running checks, then stops the loop.
    asio::awaitable<void> shutdown(duration grace);

    asio::ip::tcp::endpoint local_endpoint() const { return server_.local_endpoint(); }

    // daemon_view
    const config::server_config& server() const override { return config_.server; }
    const std::map<std::string, std::shared_ptr<check_task>>& tasks() const override { return tasks_; }
    std::vector<database_health> databases() const override;
    const alert_pipeline& alerts() const override { return alerts_; }
    asio::awaitable<std::string> metrics_body(bool gzip) override;
    asio::awaitable<void> metrics_settled() override;
    bool shutting_down() const override { return shutting_down_; }
    silence add_silence(silence entry) override { return alerts_.add_silence(std::move(entry)); }
    std::optional<silence> expire_silence(const std::string& id) override { return alerts_.expire_silence(id); }
    const cluster::coordinator* cluster() const override { return cluster_.get(); }

private:
    struct database_entry {
        config::database_config config;
        std::shared_ptr<db::database> database;
        bool up = true;
        std::string error;
    };

    /// One database set: its discovery connection and loop, its members, the slots and threads they share.
    struct set_entry {
        config::database_config config;
        std::shared_ptr<db::database> discover;
        member_resources shared;  ///< the members' slots and blocking threads
        std::vector<std::string> members;  ///< as last discovered
        bool up = true;                    ///< the discover statement ran
        std::string error;                 ///< why not, or the rows it left out
        std::shared_ptr<asio::steady_timer> next_discovery;  ///< cancelled when the set goes
    };

    void apply(config::daemon_config next);
    /// Makes tasks_ hold one task per check instance of `config` (per member for sets),
    /// keeping the tasks whose definition and database did not change.
    void reconcile_tasks(const config::daemon_config& config);
    asio::awaitable<void> discover_loop(std::string set, std::shared_ptr<asio::steady_timer> timer);
    /// Replaces the members of `set` by `members`: drivers and metrics of new members added,
    /// those of gone members closed; tasks reconciled (a gone member's alerts resolve).
    void update_members(set_entry& set, std::vector<std::string> members);
    /// The database name of an instance: the check's database, "<set>/<member>" for a member.
    static std::string database_of(const config::check_config& check, const check_instance& instance);
    void on_result(check_task& task, const checks::check_result& result);
    /// True when this process runs `instance`: always outside cluster mode, for its owner in it.
    bool runs_here(const std::string& instance) const {
        return !cluster_ || (cluster_->owns(instance) && !adopting_.contains(instance));
    }
    /// Cluster mode: reads the shared state of checks that came here, then runs them.
    asio::awaitable<void> adopt_checks(std::set<check_instance> instances);
    /// Cluster mode: every lease/3, takes over orphaned notifications and re-reads silences.
    asio::awaitable<void> cluster_sweep_loop();
    /// Cluster mode, start-up: opens the shared state store, importing state_dir once.
    asio::awaitable<void> open_shared_state();
    /// Cluster mode: results other members stored become the status of the checks this
    /// member does not run.
    void apply_shared_results(std::vector<state::stored_result> results);
    /// Cluster mode: membership or ownership changed. Series are added for checks gained
    /// (and those run at once), removed for checks lost.
    void on_ownership_change();
    /// Makes `instance`'s series exist (exported) or not, as `wanted` says.
    void export_check(const check_task& task, bool wanted);
    /// Removes an instance's series for good (the check was removed or redefined).
    void forget_check_series(const std::string& name);
    void publish_cluster_metrics();
    /// Sets the series derived from other state (silenced, connection counts).
    void refresh_derived_metrics();
    asio::awaitable<void> watch_reload_signal();
    asio::awaitable<void> watch_stop_signals();

    asio::io_context& loop_;
    std::string config_path_;
    config::daemon_config config_;
    daemon_metrics metrics_;
    alert_pipeline alerts_;
    http_api api_;
    http_server server_;
    std::map<std::string, database_entry> databases_;  ///< set members as "<set>/<member>"
    std::map<std::string, set_entry> sets_;
    std::map<std::string, std::shared_ptr<check_task>> tasks_;  ///< by instance name
    std::set<std::string> exported_;    ///< instances whose series /metrics carries (those run here)
    std::set<std::string> registered_;  ///< instances whose series exist (cluster mode: exported or hidden)
    std::unique_ptr<cluster::coordinator> cluster_;  ///< cluster mode only
    std::set<std::string> adopting_;  ///< came here; their shared state is being read
    std::uint64_t cluster_epoch_ = 0;
    std::string results_watermark_;  ///< the newest shared result read so far  ///< the epoch the queued notifications were claimed under
    std::string application_name_ = "invariantd";  ///< "invariantd/<member>" in cluster mode
    metrics_publisher publisher_;  ///< after everything its refresh reads: destroyed first
    asio::signal_set reload_signal_;
    asio::signal_set stop_signals_;
    bool shutting_down_ = false;
};

}  // namespace invariantd
