#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <cstdint>

#include <prometheus/counter.h>
#include <mutex>
#include <optional>
#include <set>

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "checks/result.hpp"
#include "daemon/alerting/alert_book.hpp"
#include "daemon/alerting/run_outcome.hpp"
#include "daemon/core/process_metrics.hpp"

namespace invariantd {


/// Every metric family of README.md "Metrics" and the series of each configured check and database.
/// Series are created when a check or database is configured and removed only when it is
/// removed from the configuration, so a failing check keeps exporting its last good values.
/// Loop thread for updates; serialize() may run on any thread (prometheus-cpp is thread-safe).
class daemon_metrics {
public:
    daemon_metrics(const std::string& version, const std::string& revision);

    void add_check(const std::string& check, const std::string& module, const std::string& database);
    void remove_check(const std::string& check);
    /// Updates the series of `check` after a run. On error/timeout only up, runs, duration and
    /// last_run change; value, details and breakdown keep their last good values.
    /// `counted` false: the result restores the gauges only (cluster mode: the last result
    /// of a check that ran on another member), no run is counted or timed.
    void record_run(const std::string& check, const checks::check_result& result, run_outcome outcome,
                    bool counted = true);
    void set_alert_state(const std::string& check, alert_state state);
    void set_check_silenced(const std::string& check, bool silenced);
    /// The check's offender figures after a successful run (README "Offenders").
    void record_offenders(const std::string& check, std::size_t new_count, std::size_t persisting, std::size_t cleared,
                          std::optional<system_clock::time_point> oldest_first_seen);

    void add_database(const std::string& database);
    void remove_database(const std::string& database);
    void set_database_up(const std::string& database, bool up);
    void set_database_connections(const std::string& database, std::size_t idle, std::size_t busy);

    void set_config_reload(bool successful, double unix_time);

    /// Cluster mode only (SPEC §12): creates the invariantd_cluster_* series.
    void enable_cluster();
    /// Live members, checks this member owns, whether it holds its lease, rebalances so far.
    void set_cluster(std::size_t members, std::size_t owned_checks, bool is_member, std::uint64_t rebalances);

    /// Creates the notification series of a receiver at 0 (dashboards see it before its first page).
    void add_receiver(const std::string& receiver);
    /// `outcome` is sent, failed or dropped.
    void count_notification(const std::string& receiver, const char* outcome);
    void set_notification_queue_length(const std::string& receiver, std::size_t length);
    /// Damaged state files set aside and replaced at start-up.
    void count_state_recovered(std::size_t files) {
        state_recovered_.Increment(static_cast<double>(files));
        changed();
    }

    /// The duration histogram's upper bounds (server.duration_buckets). A change re-creates
    /// every check's histogram (its counts restart, as after a restart of the daemon).
    void set_duration_buckets(const std::vector<double>& bounds);

    /// Every family but process_*, without the series of hidden checks; thread-safe
    /// (prometheus-cpp locks each family, the hidden set has a lock of its own), so the
    /// prepared /metrics body is built on a worker thread.
    std::vector<prometheus::MetricFamily> collect() const;
    /// Cluster mode: checks whose series stay registered but /metrics leaves out (they run
    /// on another member). Hiding instead of removing matters at scale: prometheus-cpp's
    /// Family::Remove scans the whole family, so moving thousands of checks by removal took
    /// the loop for seconds (measured: members lost their leases in tests/bench/cluster.sh).
    void set_hidden_checks(std::set<std::string> checks);
    /// The process_* families, read from /proc now.
    std::vector<prometheus::MetricFamily> collect_process() const { return process_.Collect(); }
    /// Prometheus text format 0.0.4 of every family plus the process_* metrics.
    std::string serialize() const;

    /// Counts changes of any series except process_*: the prepared body is stale when this
    /// moved past the value it was built at. Loop thread.
    std::uint64_t generation() const { return generation_; }
    /// Called after every change (the prepared body schedules its rebuild). Loop thread.
    void on_change(std::function<void()> hook) { on_change_ = std::move(hook); }

    /// Most groups a breakdown exports per check (largest values kept).
    static constexpr std::size_t max_breakdown = 50;

private:
    struct check_series {
        prometheus::Gauge* value = nullptr;
        prometheus::Gauge* up = nullptr;
        prometheus::Histogram* duration = nullptr;
        std::map<run_outcome, prometheus::Counter*> runs;
        prometheus::Gauge* last_run = nullptr;
        prometheus::Gauge* last_success = nullptr;
        prometheus::Gauge* alert_state = nullptr;
        prometheus::Gauge* silenced = nullptr;
        prometheus::Gauge* offenders_new = nullptr;
        prometheus::Gauge* offenders_persisting = nullptr;
        prometheus::Counter* offenders_cleared = nullptr;
        prometheus::Gauge* oldest_offender = nullptr;
        std::map<std::string, prometheus::Gauge*> details;
        std::map<std::string, prometheus::Gauge*> breakdown;
    };
    struct database_series {
        prometheus::Gauge* up = nullptr;
        prometheus::Gauge* idle = nullptr;
        prometheus::Gauge* busy = nullptr;
    };

    struct cluster_series {
        prometheus::Gauge* members = nullptr;
        prometheus::Gauge* owned = nullptr;
        prometheus::Gauge* is_member = nullptr;
        prometheus::Counter* rebalances = nullptr;
    };

    std::shared_ptr<prometheus::Registry> registry_;
    std::optional<cluster_series> cluster_;
    mutable std::mutex hidden_mutex_;
    std::shared_ptr<const std::set<std::string>> hidden_;  ///< replaced whole, read by collect()
    process_collector process_;
    prometheus::Family<prometheus::Gauge>& check_value_;
    prometheus::Family<prometheus::Gauge>& check_detail_;
    prometheus::Family<prometheus::Gauge>& check_breakdown_;
    prometheus::Family<prometheus::Gauge>& check_up_;
    prometheus::Family<prometheus::Histogram>& check_duration_;
    prometheus::Family<prometheus::Counter>& check_runs_;
    prometheus::Family<prometheus::Gauge>& check_last_run_;
    prometheus::Family<prometheus::Gauge>& check_last_success_;
    prometheus::Family<prometheus::Gauge>& alert_state_;
    prometheus::Family<prometheus::Gauge>& check_silenced_;
    prometheus::Family<prometheus::Gauge>& offenders_;
    prometheus::Family<prometheus::Counter>& offenders_cleared_;
    prometheus::Family<prometheus::Gauge>& oldest_offender_;
    prometheus::Family<prometheus::Counter>& notifications_;
    prometheus::Family<prometheus::Gauge>& notification_queue_;
    prometheus::Family<prometheus::Gauge>& database_up_;
    prometheus::Family<prometheus::Gauge>& database_connections_;
    prometheus::Gauge& reload_successful_;
    prometheus::Gauge& reload_timestamp_;
    prometheus::Counter& state_recovered_;
    void changed() {
        ++generation_;
        if (on_change_) on_change_();
    }

    std::map<std::string, check_series> checks_;
    std::map<std::string, database_series> databases_;
    prometheus::Histogram::BucketBoundaries duration_buckets_;
    std::uint64_t generation_ = 0;
    std::function<void()> on_change_;
};

/// server.duration_buckets when not configured: a decade per bucket over what checks take (a
/// cheap aggregate under 10 ms, an indexed join under 100 ms, a scan of a large table
/// seconds; beyond 10 s a check is slow whatever else), so each check exports 7 histogram
/// series instead of the 18 of the previous default. Every series costs ~3 bytes of gzip per
/// check and scrape (README "Metrics").
inline const std::vector<double>& default_duration_buckets() {
    static const std::vector<double> bounds{0.01, 0.1, 1, 10};
    return bounds;
}

}  // namespace invariantd
