#pragma once
/// Alerting as stages, the way Alertmanager's notify pipeline separates them:
///   1. alert_book            decides: run result → changed records + typed notifications (pure)
///   2. outbox_writer         makes them durable (state store on its own worker thread)
///   3. delivery_queue        one per receiver URL: send in order, retry, back off
///   4. alertmanager_reposter re-posts firing/resolved alerts to Alertmanager
/// This class wires the stages together and is what the daemon talks to. A notification is
/// committed (with the record change that caused it) before its queue may send it.
/// Loop thread only.
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/alerting/alert_book.hpp"
#include "daemon/alerting/alertmanager_reposter.hpp"
#include "daemon/alerting/delivery_queue.hpp"
#include "daemon/alerting/mute_schedule.hpp"
#include "daemon/alerting/outbox_writer.hpp"
#include "daemon/alerting/run_history.hpp"

namespace invariantd {

class alert_pipeline {
public:
    alert_pipeline(asio::any_io_executor loop, delivery_observer observer);
    ~alert_pipeline();
    alert_pipeline(const alert_pipeline&) = delete;
    alert_pipeline& operator=(const alert_pipeline&) = delete;

    /// Opens `<state_dir>/outbox.db` and restores the book and the queued notifications.
    /// Start-up only (blocking). the number of damaged files replaced (the caller
    /// counts them); throws state::state_error naming the path when unusable.
    std::size_t open(const std::string& state_dir);

    // Cluster mode (SPEC §12) ------------------------------------------------------------
    /// Starts on the shared store instead of state_dir (start-up only, blocking).
    asio::awaitable<void> open_shared(std::unique_ptr<state::state_store> store);
    /// `owns` says which instances this member owns now; `may_send` whether it holds its
    /// lease. Re-posts and releases are made only for owned instances, and nothing is sent
    /// without the lease.
    void set_cluster_gates(std::function<bool(const check_instance&)> owns, std::function<bool()> may_send);
    /// Instances that just came to this member: their records and ledgers are read again
    /// from the shared store, so the new owner continues where the last one stopped.
    /// Throws when the store cannot be read.
    asio::awaitable<void> adopt(std::set<check_instance> instances);
    /// Takes over the queued notifications whose claimer is gone, re-reads the silences
    /// (added or ended on other members) and the alert records of checks other members own,
    /// and returns the results written after `results_after` (a watermark from an earlier
    /// answer, "" for all). Throws when the store cannot be read.
    asio::awaitable<std::vector<state::stored_result>> sweep(std::string results_after);
    /// The results the shared store held at open_shared(), handed over once.
    std::vector<state::stored_result> take_shared_results() { return std::exchange(shared_results_, {}); }
    /// The membership epoch changed: the stored notifications held here were claimed under
    /// the old epoch, so they are let go (the next sweep claims them again, here or elsewhere).
    void release_claims();
    /// Applies the receiver set: new URLs get a queue; notifications queued for a receiver
    /// that is no longer configured are dropped (error log, outcome dropped).
    void configure(const std::vector<config::receiver_config>& receivers);
    /// After every run of `instance`; returns how many of its offenders cleared.
    std::size_t observe(const config::check_config& check, const check_instance& instance,
                        const run_observation& run);
    /// Resolves the open alerts of every instance not in `configured`, and evaluates the
    /// silences and windows for exactly these instances from now on.
    void retain(const std::set<check_instance>& configured);

    /// The checks as configured now (a release needs their receivers) and the maintenance
    /// windows; covers are evaluated again at once (a reload takes effect immediately).
    void configure_checks(const std::vector<config::check_config>& checks,
                          std::vector<config::maintenance_window> windows);
    /// Adds a validated silence under a fresh id, persists it and applies it at once.
    silence add_silence(silence entry);
    /// Ends silence `id` now (persisted; covered checks are released); nullopt if unknown.
    std::optional<silence> expire_silence(const std::string& id);
    /// Adds one result to the instance's history (memory now, history.db on the writer).
    /// `result_document`: cluster mode's shared result, written with the point (else empty).
    void record_history(const check_instance& instance, history_point point, std::string result_document = {});
    const run_history& history() const { return history_; }
    /// Cluster mode: a run another member made (read from the shared store) joins this
    /// member's in-memory history for the charts; nothing is written.
    void mirror_history(const check_instance& instance, history_point point) {
        const auto& points = history_.of(instance.name());
        if (points.empty() || points.back().time < point.time) history_.add(instance.name(), point);
    }
    /// Silences and windows, for the API and the status page.
    const mute_schedule& mutes() const { return mutes_; }
    /// Each window's current or next occurrence as of the last evaluation (mutes().windows() order).
    const std::vector<std::optional<window_span>>& window_spans() const { return window_spans_; }
    /// What holds the notifications of `instance` (its name: "<check>" or "<check>/<member>")
    /// now (evaluated at every silence or window boundary, at most a second late), or nullptr.
    const mute_cover* cover(const std::string& instance) const;

    /// Read-only view for the API, the status page and the metrics.
    const alert_book& book() const { return book_; }
    /// The queued notifications of one dedup key, for /api/v1/alerts.
    nlohmann::ordered_json queued_json(const std::string& dedup_key) const;

    /// Stops delivery and waits until every state change is committed (SIGTERM).
    asio::awaitable<void> stop();

private:
    using destination_key = std::pair<std::string, std::size_t>;

    /// Logs and queues the update's notifications, then commits it (stage 1 → 2 → 3).
    void apply(book_update update);
    std::vector<std::shared_ptr<queued_notification>> enqueue(const alert_event& event,
                                                              const std::vector<std::string>& receivers,
                                                              bool durable);
    asio::awaitable<void> commit(std::vector<state::stored_alert> alerts,
                                 std::vector<std::shared_ptr<queued_notification>> items);
    asio::awaitable<void> repost_loop();
    void repost_and_clean();
    std::set<std::string> queued_keys() const;
    void drop(const std::string& receiver, const std::string& what, std::int64_t id,
              std::vector<std::int64_t>& ids);
    void publish_queue_lengths();
    /// Puts stored notifications on their queues (in their order); those for receivers no
    /// longer configured are dropped, those already queued skipped.
    void queue_stored(std::vector<state::stored_notification> rows);
    bool owned(const check_instance& instance) const { return !owns_ || owns_(instance); }
    /// Evaluates every check's cover at `now`; checks no longer covered are released.
    void refresh_mutes(system_clock::time_point now);

    asio::any_io_executor loop_;
    delivery_observer observer_;
    std::shared_ptr<tls_client_context> tls_;
    std::string host_name_;
    alert_book book_;
    outbox_writer writer_;
    alertmanager_reposter reposter_;
    std::vector<state::stored_notification> loaded_;  ///< restored, waiting for configure()
    std::map<std::string, config::receiver_config> receivers_;
    std::map<destination_key, std::shared_ptr<delivery_queue>> queues_;
    mute_schedule mutes_;
    run_history history_;
    std::map<std::string, config::check_config> checks_;    ///< by check name
    std::set<check_instance> instances_;                    ///< every instance running (retain())
    std::map<std::string, mute_cover> covers_;              ///< the covered checks, as of the last refresh
    std::vector<std::optional<window_span>> window_spans_;  ///< as of the last refresh
    std::set<std::string> held_;                            ///< checks covered since their last release
    std::optional<system_clock::time_point> next_mute_change_;
    asio::steady_timer repost_timer_;
    std::function<bool(const check_instance&)> owns_;  ///< cluster mode only
    std::function<bool()> may_send_;                   ///< cluster mode only
    std::vector<state::stored_result> shared_results_;  ///< from open_shared(), until taken
    std::set<check_instance> stale_;
    bool defer_ledgers_ = false;  ///< inside observe() in cluster mode
    std::map<check_instance, state::stored_ledger> pending_ledgers_;  ///< for the run's record_history  ///< cluster mode: a commit failed; the stored state must be read again
    bool started_ = false;
    bool stopping_ = false;
};

}  // namespace invariantd
