#pragma once
/// The durable state of alerting behind one interface: alert records (with a version for
/// compare-and-set) and queued notifications (with claim leases), offender ledgers,
/// silences, result history and — in cluster mode — each instance's last result. Two
/// implementations: the SQLite files of a single daemon's `state_dir` (sqlite_state_store,
/// blocking, run on a worker thread of its own by threaded_state_store) and the shared
/// PostgreSQL store of cluster mode (cluster::pg_state_store, on the loop through the
/// non-blocking libpq driver). The alert book and the pipeline do not know which one runs.
///
/// Asynchronous and loop thread only; the caller (outbox_writer) makes one call at a time, in
/// submission order. Arguments are taken by value: a call's coroutine owns what it writes.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/asio.hpp"

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
    virtual asio::awaitable<std::vector<stored_alert>> load_alerts() = 0;
    /// The queued notifications nobody else holds, oldest first, claimed for this writer until
    /// `claim_until`.
    virtual asio::awaitable<std::vector<stored_notification>> claim_notifications(double claim_until) = 0;
    /// One transaction: writes `alerts` (each only if its stored version is older, else
    /// version_conflict and nothing is written) and inserts `notifications`; returns them with
    /// their ids filled in, claimed by this writer, once the commit is durable.
    virtual asio::awaitable<std::vector<stored_notification>> commit(std::vector<stored_alert> alerts,
                                                                     std::vector<stored_notification> notifications) = 0;
    /// Removes (or marks delivered) finished notifications.
    virtual asio::awaitable<void> remove_notifications(std::vector<std::int64_t> ids) = 0;
    /// Forgets alerts that are over.
    virtual asio::awaitable<void> forget_alerts(std::vector<std::string> dedup_keys) = 0;
    virtual asio::awaitable<std::vector<stored_ledger>> load_ledgers() = 0;
    /// Replaces an instance's ledger in one transaction.
    virtual asio::awaitable<void> write_ledger(stored_ledger ledger) = 0;
    virtual asio::awaitable<void> forget_ledgers(std::vector<std::string> instances) = 0;
    /// Silences as JSON documents (README "Silences"), any order.
    virtual asio::awaitable<std::vector<std::string>> load_silences() = 0;
    /// Inserts or replaces silence `id`.
    virtual asio::awaitable<void> write_silence(std::string id, std::string document) = 0;
    virtual asio::awaitable<void> forget_silences(std::vector<std::string> ids) = 0;
    /// The newest `per_instance` results of every instance, oldest first per instance.
    virtual asio::awaitable<std::vector<stored_history_point>> load_history(std::size_t per_instance) = 0;
    virtual asio::awaitable<void> forget_history(std::vector<std::string> instances) = 0;
    /// One run's history point (the instance's points beyond the newest `keep` dropped), the
    /// run's offender ledger when it changed and, in cluster mode, the instance's result
    /// document (core/shared_result), as one write: the coordination traffic per run is one
    /// statement. A single daemon keeps results in memory, so the SQLite store ignores
    /// `document`.
    virtual asio::awaitable<void> record_run(stored_history_point point, std::size_t keep, std::string document,
                                             std::optional<stored_ledger> ledger) = 0;
    /// The results written after `after` (a watermark from an earlier answer; "" for all).
    virtual asio::awaitable<std::vector<stored_result>> load_results(std::string after) = 0;
};

}  // namespace invariantd::state
