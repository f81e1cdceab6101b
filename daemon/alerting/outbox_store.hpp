#pragma once
/// The durable half of alerting: `<state_dir>/outbox.db`, a SQLite file in WAL mode with
/// synchronous=FULL, holding the notifications not yet accepted by their receiver and the
/// state of every alert. Blocking: every call is made from the dispatcher's single store
/// worker thread (or at start-up, before the loop runs), never from the event loop.
#include <cstdint>
#include <string>
#include <vector>

struct sqlite3;

namespace invariantd {

struct stored_notification {
    std::int64_t id = 0;
    std::string receiver;
    std::size_t destination = 0;  ///< index into the receiver's URL list
    std::string dedup_key;
    std::string action;      ///< trigger | resolve
    std::string event_json;  ///< the alert_event
    double enqueued_at = 0;  ///< unix seconds
};

struct stored_alert {
    std::string dedup_key;
    std::string record_json;
};

class outbox_store {
public:
    /// Opens or creates the file; throws std::runtime_error (with the path) when unusable.
    explicit outbox_store(const std::string& path);
    ~outbox_store();
    outbox_store(const outbox_store&) = delete;
    outbox_store& operator=(const outbox_store&) = delete;

    std::vector<stored_notification> load_notifications();
    std::vector<stored_alert> load_alerts();

    /// One transaction: upserts `alerts`, inserts `notifications` (their ids are filled in).
    /// Returns only after the commit is on disk.
    void commit(const std::vector<stored_alert>& alerts, std::vector<stored_notification>& notifications);
    /// Removes delivered or dropped notifications.
    void remove(const std::vector<std::int64_t>& ids);
    /// Forgets alerts that are over (their records are no longer needed).
    void forget_alerts(const std::vector<std::string>& dedup_keys);

private:
    void exec(const char* sql);
    sqlite3* db_ = nullptr;
    std::string path_;
};

}  // namespace invariantd
