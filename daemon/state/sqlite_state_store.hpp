#pragma once
/// The local state store: `<state_dir>/outbox.db` (SQLite, WAL, synchronous=FULL).
///
/// Schema versions (PRAGMA user_version):
///   0/1  release 0.1.0: notifications(id, receiver, destination, dedup_key, action, event,
///        enqueued_at), alerts(dedup_key, record)
///   2    + alerts.version (compare-and-set), notifications.claim_epoch/claim_until (claim
///        leases), meta(key, value) holding writer_epoch (+1 at every open)
/// and `<state_dir>/ledger.db` beside it, the offender ledgers (its own file, so damage to one
/// does not cost the other):
///   1    ledgers(instance, definition, last_seen, truncated), ledger_offenders(instance,
///        position, key, first_seen, is_new), ledger_cleared(instance, position, key,
///        first_seen, cleared_at)
/// and `<state_dir>/history.db`, each check instance's last results:
///   1    history(instance, time, value, outcome)
#include "daemon/state/state_file.hpp"
#include "daemon/state/state_store.hpp"

namespace invariantd::state {

/// Blocking: threaded_state_store makes its calls on a worker thread of their own (tests and
/// start-up call it directly).
class sqlite_state_store {
public:
    /// Opens or creates the file; a damaged one is set aside (see state_file.hpp).
    /// Throws state_error (with the path) when unusable.
    explicit sqlite_state_store(std::string path);
    ~sqlite_state_store();
    sqlite_state_store(const sqlite_state_store&) = delete;
    sqlite_state_store& operator=(const sqlite_state_store&) = delete;

    /// How the files were found at open (recovered, migrated from which version).
    const opened_state_file& opened() const { return opened_; }
    const opened_state_file& ledger_opened() const { return ledger_opened_; }
    const std::string& ledger_path() const { return ledger_path_; }
    const opened_state_file& history_opened() const { return history_opened_; }
    const std::string& history_path() const { return history_path_; }
    const std::string& path() const { return path_; }

    std::uint64_t writer_epoch() const { return epoch_; }
    std::vector<stored_alert> load_alerts();
    std::vector<stored_notification> claim_notifications(double claim_until);
    void commit(const std::vector<stored_alert>& alerts,
                std::vector<stored_notification>& notifications);
    void remove_notifications(const std::vector<std::int64_t>& ids);
    void forget_alerts(const std::vector<std::string>& dedup_keys);
    std::vector<stored_ledger> load_ledgers();
    void write_ledger(const stored_ledger& ledger);
    void forget_ledgers(const std::vector<std::string>& instances);
    std::vector<std::string> load_silences();
    void write_silence(const std::string& id, const std::string& document);
    void forget_silences(const std::vector<std::string>& ids);
    std::vector<stored_history_point> load_history(std::size_t per_instance);
    void append_history(const stored_history_point& point, std::size_t keep);
    /// The history point and, when given, the ledger (state_store::record_run).
    void record_run(const stored_history_point& point, std::size_t keep, const stored_ledger* ledger) {
        append_history(point, keep);
        if (ledger != nullptr) write_ledger(*ledger);
    }
    void forget_history(const std::vector<std::string>& instances);

    static constexpr int schema_version = 3;

private:
    std::string path_;
    opened_state_file opened_;
    sqlite3* db_ = nullptr;
    std::string ledger_path_;
    opened_state_file ledger_opened_;
    sqlite3* ledger_ = nullptr;
    std::string history_path_;
    opened_state_file history_opened_;
    sqlite3* history_ = nullptr;
    std::uint64_t epoch_ = 0;
};

}  // namespace invariantd::state
