#pragma once
/// The local state store: `<state_dir>/outbox.db` (SQLite, WAL, synchronous=FULL).
///
/// Schema versions (PRAGMA user_version):
///   0/1  release 0.1.0: notifications(id, receiver, destination, dedup_key, action, event,
///        enqueued_at), alerts(dedup_key, record)
///   2    + alerts.version (compare-and-set), notifications.claim_epoch/claim_until (claim
///        leases), meta(key, value) holding writer_epoch (+1 at every open)
#include "daemon/state/state_file.hpp"
#include "daemon/state/state_store.hpp"

namespace invariantd::state {

class sqlite_state_store final : public state_store {
public:
    /// Opens or creates the file; a damaged one is set aside (see state_file.hpp).
    /// Throws state_error (with the path) when unusable.
    explicit sqlite_state_store(std::string path);
    ~sqlite_state_store() override;
    sqlite_state_store(const sqlite_state_store&) = delete;
    sqlite_state_store& operator=(const sqlite_state_store&) = delete;

    /// How the file was found at open (recovered, migrated from which version).
    const opened_state_file& opened() const { return opened_; }
    const std::string& path() const { return path_; }

    std::uint64_t writer_epoch() const override { return epoch_; }
    std::vector<stored_alert> load_alerts() override;
    std::vector<stored_notification> claim_notifications(double claim_until) override;
    void commit(const std::vector<stored_alert>& alerts,
                std::vector<stored_notification>& notifications) override;
    void remove_notifications(const std::vector<std::int64_t>& ids) override;
    void forget_alerts(const std::vector<std::string>& dedup_keys) override;

    static constexpr int schema_version = 2;

private:
    std::string path_;
    opened_state_file opened_;
    sqlite3* db_ = nullptr;
    std::uint64_t epoch_ = 0;
};

}  // namespace invariantd::state
