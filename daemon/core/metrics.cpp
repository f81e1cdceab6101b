#include "daemon/core/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "daemon/common/time_format.hpp"
#include "daemon/core/metrics_exposition.hpp"

namespace invariantd {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

/// Timestamps to the millisecond: finer digits carry nothing a dashboard uses and cost
/// bytes in every scrape (they do not compress).
double timestamp_seconds(system_clock::time_point at) { return std::round(unix_seconds(at) * 1000.0) / 1000.0; }

/// Sets a gauge; true when that changed its value.
bool set_changed(prometheus::Gauge& gauge, double value) {
    if (gauge.Value() == value) return false;
    gauge.Set(value);
    return true;
}

constexpr run_outcome all_outcomes[] = {run_outcome::ok, run_outcome::violation, run_outcome::error,
                                        run_outcome::timeout};

template <typename T>
void remove_all(prometheus::Family<T>& family, std::map<std::string, T*>& series) {
    for (auto& [name, metric] : series) family.Remove(metric);
    series.clear();
}

/// Makes `series` hold exactly `values` (label `key_label` = name): gauges are reused by name,
/// created for new names, and removed for names no longer reported (healthy again).
void replace_series(prometheus::Family<prometheus::Gauge>& family, std::map<std::string, prometheus::Gauge*>& series,
                    const std::string& owner_label, const std::string& owner, const std::string& key_label,
                    const std::vector<std::pair<std::string, double>>& values) {
    std::map<std::string, prometheus::Gauge*> kept;
    for (const auto& [name, value] : values) {
        auto found = series.find(name);
        prometheus::Gauge* gauge = found != series.end() ? found->second : &family.Add({{owner_label, owner}, {key_label, name}});
        if (found != series.end()) series.erase(found);
        gauge->Set(value);
        kept.emplace(name, gauge);
    }
    remove_all(family, series);
    series = std::move(kept);
}

}  // namespace

daemon_metrics::daemon_metrics(const std::string& version, const std::string& revision)
    : registry_(std::make_shared<prometheus::Registry>()),
      check_value_(BuildGauge().Name("invariantd_check_value").Help("Value of the check's last successful run.").Register(*registry_)),
      check_detail_(BuildGauge().Name("invariantd_check_detail").Help("Named figures of the check's last successful run.").Register(*registry_)),
      check_breakdown_(BuildGauge().Name("invariantd_check_breakdown").Help("Value of the check's last successful run by group (at most 50 groups).").Register(*registry_)),
      check_up_(BuildGauge().Name("invariantd_check_up").Help("1 when the check's last run succeeded.").Register(*registry_)),
      check_duration_(BuildHistogram().Name("invariantd_check_duration_seconds").Help("Duration of check runs.").Register(*registry_)),
      check_runs_(BuildCounter().Name("invariantd_check_runs_total").Help("Check runs by outcome (ok, violation, error, timeout).").Register(*registry_)),
      check_last_run_(BuildGauge().Name("invariantd_check_last_run_timestamp_seconds").Help("Start time of the check's last run.").Register(*registry_)),
      check_last_success_(BuildGauge().Name("invariantd_check_last_success_timestamp_seconds").Help("Start time of the check's last successful run.").Register(*registry_)),
      alert_state_(BuildGauge().Name("invariantd_alert_state").Help("Alert state of the check: 0 ok, 1 pending, 2 firing.").Register(*registry_)),
      check_silenced_(BuildGauge().Name("invariantd_check_silenced").Help("1 while a silence or maintenance window holds the check's notifications.").Register(*registry_)),
      offenders_(BuildGauge().Name("invariantd_check_offenders").Help("Offenders of the last successful run by state (new, persisting).").Register(*registry_)),
      offenders_cleared_(BuildCounter().Name("invariantd_check_offenders_cleared_total").Help("Offenders that disappeared from a check's results.").Register(*registry_)),
      oldest_offender_(BuildGauge().Name("invariantd_check_oldest_offender_first_seen_timestamp_seconds").Help("first_seen of the check's oldest tracked offender, 0 when none.").Register(*registry_)),
      notifications_(BuildCounter().Name("invariantd_notifications_total").Help("Notifications by receiver and outcome (sent, failed, dropped).").Register(*registry_)),
      notification_queue_(BuildGauge().Name("invariantd_notification_queue_length").Help("Notifications waiting in the outbox per receiver.").Register(*registry_)),
      database_up_(BuildGauge().Name("invariantd_database_up").Help("1 when the database answered its last attempt.").Register(*registry_)),
      database_connections_(BuildGauge().Name("invariantd_database_connections").Help("Open connections to the database by state (idle, busy).").Register(*registry_)),
      reload_successful_(BuildGauge().Name("invariantd_config_last_reload_successful").Help("1 when the last configuration load succeeded.").Register(*registry_).Add({})),
      reload_timestamp_(BuildGauge().Name("invariantd_config_last_reload_success_timestamp_seconds").Help("Time of the last successful configuration load.").Register(*registry_).Add({})),
      state_recovered_(BuildCounter().Name("invariantd_state_recovered_total").Help("Damaged state files set aside and replaced by empty ones at start-up.").Register(*registry_).Add({})),
      duration_buckets_(default_duration_buckets()) {
    BuildGauge()
        .Name("invariantd_build_info")
        .Help("Build information; always 1.")
        .Register(*registry_)
        .Add({{"version", version}, {"revision", revision}})
        .Set(1);
}

void daemon_metrics::add_check(const std::string& check, const std::string& module, const std::string& database) {
    remove_check(check);
    check_series series;
    series.value = &check_value_.Add({{"check", check}, {"module", module}, {"database", database}});
    series.up = &check_up_.Add({{"check", check}});
    series.duration = &check_duration_.Add({{"check", check}}, duration_buckets_);
    for (auto outcome : all_outcomes) series.runs[outcome] = &check_runs_.Add({{"check", check}, {"outcome", to_string(outcome)}});
    series.last_run = &check_last_run_.Add({{"check", check}});
    series.last_success = &check_last_success_.Add({{"check", check}});
    series.alert_state = &alert_state_.Add({{"check", check}});
    series.silenced = &check_silenced_.Add({{"check", check}});
    series.offenders_new = &offenders_.Add({{"check", check}, {"state", "new"}});
    series.offenders_persisting = &offenders_.Add({{"check", check}, {"state", "persisting"}});
    series.offenders_cleared = &offenders_cleared_.Add({{"check", check}});
    series.oldest_offender = &oldest_offender_.Add({{"check", check}});
    checks_.emplace(check, std::move(series));
    changed();
}

void daemon_metrics::set_duration_buckets(const std::vector<double>& bounds) {
    if (bounds == duration_buckets_) return;
    duration_buckets_ = bounds;
    for (auto& [check, series] : checks_) {
        check_duration_.Remove(series.duration);
        series.duration = &check_duration_.Add({{"check", check}}, duration_buckets_);
    }
    changed();
}

void daemon_metrics::remove_check(const std::string& check) {
    auto it = checks_.find(check);
    if (it == checks_.end()) return;
    auto& s = it->second;
    check_value_.Remove(s.value);
    check_up_.Remove(s.up);
    check_duration_.Remove(s.duration);
    for (auto& [outcome, counter] : s.runs) check_runs_.Remove(counter);
    check_last_run_.Remove(s.last_run);
    check_last_success_.Remove(s.last_success);
    alert_state_.Remove(s.alert_state);
    check_silenced_.Remove(s.silenced);
    offenders_.Remove(s.offenders_new);
    offenders_.Remove(s.offenders_persisting);
    offenders_cleared_.Remove(s.offenders_cleared);
    oldest_offender_.Remove(s.oldest_offender);
    remove_all(check_detail_, s.details);
    remove_all(check_breakdown_, s.breakdown);
    checks_.erase(it);
    changed();
}

void daemon_metrics::record_run(const std::string& check, const checks::check_result& result, run_outcome outcome,
                                bool counted) {
    auto it = checks_.find(check);
    if (it == checks_.end()) return;
    auto& s = it->second;
    const double started = timestamp_seconds(result.started);
    changed();
    if (counted) {
        s.runs[outcome]->Increment();
        s.duration->Observe(result.duration_seconds);
    }
    s.last_run->Set(started);
    const bool ok = result.status == checks::run_status::ok;
    s.up->Set(ok ? 1 : 0);
    if (!ok) return;
    s.last_success->Set(started);
    s.value->Set(result.output.value);

    replace_series(check_detail_, s.details, "check", check, "detail", result.output.details);

    auto groups = result.output.breakdown;
    if (groups.size() > max_breakdown) {
        std::partial_sort(groups.begin(), groups.begin() + max_breakdown, groups.end(),
                          [](const auto& a, const auto& b) { return a.value > b.value; });
        groups.resize(max_breakdown);
    }
    std::vector<std::pair<std::string, double>> group_values;
    for (const auto& entry : groups) group_values.emplace_back(entry.group, entry.value);
    replace_series(check_breakdown_, s.breakdown, "check", check, "group", group_values);
}

void daemon_metrics::set_check_silenced(const std::string& check, bool silenced) {
    if (auto it = checks_.find(check); it != checks_.end() && set_changed(*it->second.silenced, silenced ? 1 : 0))
        changed();
}

void daemon_metrics::set_alert_state(const std::string& check, alert_state state) {
    if (auto it = checks_.find(check);
        it != checks_.end() && set_changed(*it->second.alert_state, static_cast<double>(state)))
        changed();
}

void daemon_metrics::record_offenders(const std::string& check, std::size_t new_count, std::size_t persisting,
                                     std::size_t cleared, std::optional<system_clock::time_point> oldest_first_seen) {
    auto it = checks_.find(check);
    if (it == checks_.end()) return;
    auto& s = it->second;
    s.offenders_new->Set(static_cast<double>(new_count));
    s.offenders_persisting->Set(static_cast<double>(persisting));
    if (cleared > 0) s.offenders_cleared->Increment(static_cast<double>(cleared));
    s.oldest_offender->Set(oldest_first_seen ? timestamp_seconds(*oldest_first_seen) : 0.0);
    changed();
}

void daemon_metrics::add_database(const std::string& database) {
    remove_database(database);
    database_series series;
    series.up = &database_up_.Add({{"database", database}});
    series.up->Set(1);
    series.idle = &database_connections_.Add({{"database", database}, {"state", "idle"}});
    series.busy = &database_connections_.Add({{"database", database}, {"state", "busy"}});
    databases_.emplace(database, series);
    changed();
}

void daemon_metrics::remove_database(const std::string& database) {
    auto it = databases_.find(database);
    if (it == databases_.end()) return;
    database_up_.Remove(it->second.up);
    database_connections_.Remove(it->second.idle);
    database_connections_.Remove(it->second.busy);
    databases_.erase(it);
    changed();
}

void daemon_metrics::add_receiver(const std::string& receiver) {
    for (const char* outcome : {"sent", "failed", "dropped"}) notifications_.Add({{"receiver", receiver}, {"outcome", outcome}});
    notification_queue_.Add({{"receiver", receiver}});
    changed();
}

void daemon_metrics::count_notification(const std::string& receiver, const char* outcome) {
    notifications_.Add({{"receiver", receiver}, {"outcome", outcome}}).Increment();
    changed();
}

void daemon_metrics::set_notification_queue_length(const std::string& receiver, std::size_t length) {
    if (set_changed(notification_queue_.Add({{"receiver", receiver}}), static_cast<double>(length))) changed();
}

void daemon_metrics::set_database_up(const std::string& database, bool up) {
    if (auto it = databases_.find(database); it != databases_.end() && set_changed(*it->second.up, up ? 1 : 0))
        changed();
}

void daemon_metrics::set_database_connections(const std::string& database, std::size_t idle, std::size_t busy) {
    if (auto it = databases_.find(database); it != databases_.end()) {
        const bool idle_changed = set_changed(*it->second.idle, static_cast<double>(idle));
        if (set_changed(*it->second.busy, static_cast<double>(busy)) || idle_changed) changed();
    }
}

void daemon_metrics::set_config_reload(bool successful, double unix_time) {
    reload_successful_.Set(successful ? 1 : 0);
    if (successful) reload_timestamp_.Set(std::round(unix_time * 1000.0) / 1000.0);
    changed();
}

void daemon_metrics::enable_cluster() {
    if (cluster_) return;
    cluster_series series;
    series.members = &BuildGauge().Name("invariantd_cluster_members").Help("Live cluster members as this member sees them.").Register(*registry_).Add({});
    series.owned = &BuildGauge().Name("invariantd_cluster_owned_checks").Help("Check instances this member owns and runs.").Register(*registry_).Add({});
    series.is_member = &BuildGauge().Name("invariantd_cluster_is_member").Help("1 while this member holds its lease in the coordination database.").Register(*registry_).Add({});
    series.rebalances = &BuildCounter().Name("invariantd_cluster_rebalances_total").Help("Changes of the live member set seen by this member.").Register(*registry_).Add({});
    cluster_ = series;
    changed();
}

void daemon_metrics::set_cluster(std::size_t members, std::size_t owned_checks, bool is_member, std::uint64_t rebalances) {
    if (!cluster_) return;
    bool moved = set_changed(*cluster_->members, static_cast<double>(members));
    moved = set_changed(*cluster_->owned, static_cast<double>(owned_checks)) || moved;
    moved = set_changed(*cluster_->is_member, is_member ? 1 : 0) || moved;
    const auto counted = static_cast<double>(rebalances);
    if (cluster_->rebalances->Value() < counted) {
        cluster_->rebalances->Increment(counted - cluster_->rebalances->Value());
        moved = true;
    }
    if (moved) changed();
}

void daemon_metrics::set_hidden_checks(std::set<std::string> checks) {
    auto next = std::make_shared<const std::set<std::string>>(std::move(checks));
    {
        std::lock_guard lock(hidden_mutex_);
        if (hidden_ && *hidden_ == *next) return;
        if (!hidden_ && next->empty()) return;
        hidden_ = std::move(next);
    }
    changed();
}

std::vector<prometheus::MetricFamily> daemon_metrics::collect() const {
    auto families = registry_->Collect();
    std::shared_ptr<const std::set<std::string>> hidden;
    {
        std::lock_guard lock(hidden_mutex_);
        hidden = hidden_;
    }
    if (!hidden || hidden->empty()) return families;
    for (auto& family : families) {
        std::erase_if(family.metric, [&](const prometheus::ClientMetric& metric) {
            for (const auto& label : metric.label)
                if (label.name == "check") return hidden->contains(label.value);
            return false;
        });
    }
    return families;
}

std::string daemon_metrics::serialize() const {
    auto families = collect();
    auto process = process_.Collect();
    families.insert(families.end(), std::make_move_iterator(process.begin()), std::make_move_iterator(process.end()));
    std::string out;
    write_exposition(out, families);
    return out;
}

}  // namespace invariantd
