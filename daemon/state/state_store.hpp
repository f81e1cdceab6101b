#pragma once
/// The durable state of alerting behind one interface: alert records (with a version for
/// compare-and-set) and queued notifications (with claim leases). Its one implementation
/// today is the SQLite file `<state_dir>/outbox.db` (sqlite_state_store); the shared
/// PostgreSQL store of cluster mode will implement the same calls, so the alert book and
/// the pipeline do not change when it comes. Offender ledger, silences and result history
/// share this interface.
///
/// Blocking: every call is made from one worker thread (or at start-up, before the loop
/// runs), never from the event loop.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace invariantd::state {

struct stored_notification {
    std::int64_t id = 0;
    std::string receiver;
    std::size_t destination = 0;  ///< index into the receiver's URL list
    std::string dedup_key;
    std::string action;             ///< trigger | resolve (as written in the file)
    std::string event_json;         ///< the alert_event
    double enqueued_at = 0;         ///< unix seconds
    std::uint64_t claim_epoch = 0;  ///< the writer epoch that may send it
    double claim_until = 0;         ///< unix seconds; after it another writer may claim it
};

struct stored_alert {
    std::string dedup_key;
    std::string record_json;
    std::uint64_t version = 0;  ///< written only over the version before it (compare-and-set)
};

/// One check instance's offender ledger, stored whole (times in unix seconds).
struct stored_ledger {
    struct offender {
        std::string key;
        double first_seen = 0;
        bool is_new = false;
    };
    struct cleared {
        std::string key;
        double first_seen = 0;
        double cleared_at = 0;
    };
    std::string instance;
    std::string definition;
    double last_seen = 0;  ///< 0: no successful run yet
    bool truncated = false;
    std::vector<offender> offenders;  ///< the last run's order
    std::vector<cleared> recently_cleared;  ///< newest first
};

/// One check result kept for the history charts (README "Status pages").
struct stored_history_point {
    std::string instance;
    double time = 0;                ///< unix seconds, the run's start
    std::optional<double> value;    ///< null for a run that could not produce one
    std::string outcome;            ///< ok | violation | error | timeout
};

/// Cluster mode: one instance's last results (core/shared_result) and when they were written.
struct stored_result {
    std::string instance;
    std::string document;
    std::string written;  ///< the store's own clock, as a watermark for load_results()
};

/// A commit found an alert whose stored version is not the one before: another writer
/// changed it. Nothing of the commit was written.
struct version_conflict : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A write refused because this writer no longer holds its cluster membership (its epoch is
/// stale or its lease ran out: SPEC §12 fencing). Nothing of the write happened.
struct fenced_write : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class state_store {
public:
    virtual ~state_store() = default;

    /// This writer's epoch: larger than that of every writer before it on this store.
    virtual std::uint64_t writer_epoch() const = 0;
    virtual std::vector<stored_alert> load_alerts() = 0;
    /// The queued notifications, oldest first, claimed for this writer until `claim_until`.
    virtual std::vector<stored_notification> claim_notifications(double claim_until) = 0;
    /// One transaction: writes `alerts` (each only if its stored version is older, else
    /// version_conflict and nothing is written) and inserts `notifications` (ids filled in,
    /// claimed by this writer). Returns once the commit is durable.
    virtual void commit(const std::vector<stored_alert>& alerts,
                        std::vector<stored_notification>& notifications) = 0;
    /// Removes delivered or dropped notifications.
    virtual void remove_notifications(const std::vector<std::int64_t>& ids) = 0;
    /// Forgets alerts that are over.
    virtual void forget_alerts(const std::vector<std::string>& dedup_keys) = 0;
    virtual std::vector<stored_ledger> load_ledgers() = 0;
    /// Replaces an instance's ledger in one transaction.
    virtual void write_ledger(const stored_ledger& ledger) = 0;
    virtual void forget_ledgers(const std::vector<std::string>& instances) = 0;
    /// Silences as JSON documents (README "Silences"), any order.
    virtual std::vector<std::string> load_silences() = 0;
    /// Inserts or replaces silence `id`.
    virtual void write_silence(const std::string& id, const std::string& document) = 0;
    virtual void forget_silences(const std::vector<std::string>& ids) = 0;
    /// The newest `per_instance` results of every instance, oldest first per instance.
    virtual std::vector<stored_history_point> load_history(std::size_t per_instance) = 0;
    /// Appends one result and drops the instance's results beyond the newest `keep`.
    virtual void append_history(const stored_history_point& point, std::size_t keep) = 0;
    virtual void forget_history(const std::vector<std::string>& instances) = 0;

    /// One run's history point, the run's offender ledger when it changed (else nullptr) and,
    /// in cluster mode, the instance's result document (core/shared_result), as one write:
    /// the coordination traffic per run is this one statement. A single daemon keeps results
    /// in memory, so the SQLite store ignores `document`.
    virtual void record_run(const stored_history_point& point, std::size_t keep, const std::string& /*document*/,
                            const stored_ledger* ledger) {
        append_history(point, keep);
        if (ledger != nullptr) write_ledger(*ledger);
    }
    /// The results written after `after` (a watermark from an earlier answer; "" for all).
    virtual std::vector<stored_result> load_results(const std::string& /*after*/) { return {}; }
};

}  // namespace invariantd::state
