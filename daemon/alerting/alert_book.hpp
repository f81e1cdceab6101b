#pragma once
/// The single owner of alert state: every check instance's value alert and `:error` alert.
///
/// Pure: no I/O, no clock reads, no logging. Each call takes the current time and answers
/// with a `book_update` — the records that changed (to persist) and the notifications to
/// send (typed events, each with its receivers). The pipeline (alert_pipeline) persists
/// the update and delivers the notifications; the book never learns how. The rules it
/// implements are in README.md "Alerts":
///   value alert  ok → pending (condition holds, waiting `for`) → firing (trigger) → ok
///                (condition false on a later successful run: resolve); a failed run
///                changes nothing; a trigger is repeated every `repeat_interval`.
///   error alert  firing after `error_after` failures in a row, resolved by the next
///                successful run.
///   removed      an instance no longer configured resolves its firing alerts.
/// A record's `version` grows with every change, so a shared store can compare-and-set.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "checks/result.hpp"
#include "daemon/alerting/alert_event.hpp"
#include "daemon/alerting/offender_ledger.hpp"
#include "daemon/alerting/run_outcome.hpp"
#include "daemon/common/check_instance.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

enum class alert_state { ok = 0, pending = 1, firing = 2 };
const char* to_string(alert_state state);

/// What the book knows about one alert (one dedup key).
struct alert_record {
    std::string dedup_key;
    check_instance instance;
    alert_kind kind = alert_kind::value;
    alert_state state = alert_state::ok;                   ///< firing means a trigger was queued
    std::optional<system_clock::time_point> active_since;  ///< condition (or failures) began
    std::optional<system_clock::time_point> last_sent;     ///< the last trigger queued
    std::optional<system_clock::time_point> resolved_at;   ///< the last resolve queued
    std::vector<std::string> receivers;                    ///< where the last event went
    std::optional<alert_event> last_event;                 ///< that event (re-posted to Alertmanager),
                                                           ///< or the one held while silenced
    std::set<std::string> told_firing;                    ///< receivers whose last notification was a trigger
    std::optional<system_clock::time_point> false_since;  ///< keep_firing_for: first run found false
    std::uint64_t version = 0;                            ///< +1 on every change (compare-and-set)
};

/// Stored form of a record; missing fields keep their defaults so older files load.
nlohmann::ordered_json to_json(const alert_record& record);
alert_record record_from_json(const nlohmann::json& json);

/// One notification to queue: a typed event and the receivers it goes to.
struct notification {
    alert_event event;
    std::vector<std::string> receivers;
    alert_kind kind = alert_kind::value;
};

/// What one call changed.
struct book_update {
    std::vector<alert_record> changed;              ///< records to persist, as they are now
    std::vector<notification> notifications;        ///< in the order they must be sent
    std::vector<std::string> forgotten;             ///< dedup keys whose records are gone
    std::vector<check_instance> ledgers_changed;    ///< ledgers to persist as they are now
    std::vector<check_instance> ledgers_forgotten;  ///< ledgers of instances no longer configured
    std::size_t offenders_cleared = 0;  ///< by this run (invariantd_check_offenders_cleared_total)
    bool empty() const {
        return changed.empty() && notifications.empty() && forgotten.empty() && ledgers_changed.empty() &&
               ledgers_forgotten.empty();
    }
};

/// One finished run as the book needs it.
struct run_observation {
    run_outcome outcome = run_outcome::ok;
    system_clock::time_point started;                  ///< when the run began (drives `for`)
    const checks::module_output* last_good = nullptr;  ///< the last successful run's output
    std::string error;                                 ///< why a failed run failed
    std::size_t consecutive_failures = 0;              ///< including this run
};

/// The notification rule: `notified` is the state receivers were last told about (firing =
/// a trigger went out at `last_sent`), `now_state` the state after a run. Firing for the first
/// time, or still firing `repeat_interval` after the last trigger → trigger; firing before and
/// not any more → resolve.
enum class alert_action { none, trigger, resolve };
alert_action next_action(alert_state notified, std::optional<system_clock::time_point> last_sent,
                         alert_state now_state, system_clock::time_point now, duration repeat_interval);

class alert_book {
public:
    /// Continues from stored records (start-up): firing alerts are not re-paged, `for` keeps
    /// counting from `active_since`, pending resolves still go out.
    void restore(std::vector<alert_record> records);
    /// Cluster mode, a check instance that came to this member: its records and ledger are
    /// replaced by those its last owner stored (`records` may hold other instances' too;
    /// only `instance`'s are taken).
    void adopt(const check_instance& instance, const std::vector<alert_record>& records,
               std::optional<offender_ledger> ledger);
    /// Cluster mode: the records of instances other members own (for which `owned` is
    /// false) become `records`' — the API and status page show the whole cluster.
    void mirror(const std::vector<alert_record>& records, const std::function<bool(const check_instance&)>& owned);

    /// After every run of `instance`. While `muted` (a silence or maintenance window covers
    /// it) the alerts move as usual but their notifications are held: the event is kept in
    /// the record, nothing is queued.
    book_update observe(const config::check_config& check, const check_instance& instance,
                        const run_observation& run, system_clock::time_point now, bool muted = false);
    /// The instance's silence ended: brings every receiver to the current state — a trigger
    /// to each receiver not told of a firing alert, a resolve to each told of one that is no
    /// longer firing. Intermediate transitions are not replayed (README "Silences").
    book_update release(const config::check_config& check, const check_instance& instance,
                        system_clock::time_point now);
    /// Resolves the open alerts of every instance not in `configured` (removed by a reload,
    /// or absent from the configuration at start-up).
    book_update retain(const std::set<check_instance>& configured, system_clock::time_point now);
    /// Forgets records that are over: ok, nothing of theirs in `queued_keys`, and resolved more
    /// than `keep_resolved` ago (or never notified).
    book_update forget_finished(system_clock::time_point now, duration keep_resolved,
                                const std::set<std::string>& queued_keys);

    /// The value alert's state and since when (ok and nullopt without a record).
    alert_state state(const check_instance& instance) const;
    std::optional<system_clock::time_point> active_since(const check_instance& instance) const;
    const alert_record* find(const std::string& dedup_key) const;
    const std::map<std::string, alert_record>& records() const { return records_; }

    /// Continues from stored ledgers (start-up); one whose definition no longer matches its
    /// check starts afresh at that check's next run.
    void restore_ledgers(std::map<check_instance, offender_ledger> ledgers) { ledgers_ = std::move(ledgers); }
    /// The instance's offender ledger, or nullptr before its first successful run.
    const offender_ledger* ledger(const check_instance& instance) const;
    /// What a check's ledger is tied to: module, database and params after defaults.
    static std::string definition_of(const config::check_config& check);

private:
    alert_record& record_for(const check_instance& instance, alert_kind kind);
    static void queue(alert_record& record, alert_event event, const std::vector<std::string>& receivers,
                      system_clock::time_point now, book_update& update);
    /// queue(), or while muted only keep the event for release().
    static void queue_or_hold(alert_record& record, alert_event event,
                              const std::vector<std::string>& receivers, system_clock::time_point now,
                              bool muted, book_update& update);
    static void changed(alert_record& record, book_update& update);

    std::map<std::string, alert_record> records_;  ///< by dedup key
    std::map<check_instance, offender_ledger> ledgers_;
};

}  // namespace invariantd
