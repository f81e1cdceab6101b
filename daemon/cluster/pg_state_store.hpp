#pragma once
/// The shared state of cluster mode (SPEC §12): the state_store interface over the
/// coordination database, so the alert book and the pipeline work unchanged. Every call runs
/// on the loop through the non-blocking libpq driver (db::pg_client) on a connection of its
/// own; a call that outlives `lease` (at least 5 s) is cancelled on the server and fails.
///
/// - commit(): one transaction that first locks this member's row `FOR SHARE` where name,
///   epoch and a live heartbeat still match — otherwise fenced_write and nothing is written —
///   then writes each alert only over an older version (else version_conflict) and inserts
///   the notifications claimed by this member under its epoch.
/// - A notification's claim holds while its claimer is a live member under the epoch it
///   claimed with; claim_notifications() takes over (FOR UPDATE SKIP LOCKED) the undelivered
///   ones whose claimer is gone, so each is delivered by one member.
/// - Delivered notifications are marked, and deleted after 24 h by the coordinator.
/// - forget_alerts() deletes only rows this member wrote last: a newer owner's are kept.
#include <atomic>
#include <memory>

#include "daemon/common/duration.hpp"
#include "daemon/db/pg_client.hpp"
#include "daemon/state/state_store.hpp"

namespace invariantd::state {
class sqlite_state_store;
}

namespace invariantd::cluster {

class pg_state_store final : public state::state_store {
public:
    /// `epoch` is the coordinator's current membership epoch (0: not a member).
    pg_state_store(asio::any_io_executor loop, std::string dsn, std::string schema, std::string member,
                   duration lease, std::shared_ptr<const std::atomic<std::uint64_t>> epoch);

    std::uint64_t writer_epoch() const override { return epoch_->load(); }
    asio::awaitable<std::vector<state::stored_alert>> load_alerts() override;
    asio::awaitable<std::vector<state::stored_notification>> claim_notifications(double claim_until) override;
    asio::awaitable<std::vector<state::stored_notification>> commit(
        std::vector<state::stored_alert> alerts, std::vector<state::stored_notification> notifications) override;
    asio::awaitable<void> remove_notifications(std::vector<std::int64_t> ids) override;
    asio::awaitable<void> forget_alerts(std::vector<std::string> dedup_keys) override;
    asio::awaitable<std::vector<state::stored_ledger>> load_ledgers() override;
    asio::awaitable<void> write_ledger(state::stored_ledger ledger) override;
    asio::awaitable<void> forget_ledgers(std::vector<std::string> instances) override;
    asio::awaitable<std::vector<std::string>> load_silences() override;
    asio::awaitable<void> write_silence(std::string id, std::string document) override;
    asio::awaitable<void> forget_silences(std::vector<std::string> ids) override;
    asio::awaitable<std::vector<state::stored_history_point>> load_history(std::size_t per_instance) override;
    asio::awaitable<void> forget_history(std::vector<std::string> instances) override;
    asio::awaitable<void> record_run(state::stored_history_point point, std::size_t keep, std::string document,
                                     std::optional<state::stored_ledger> ledger) override;
    asio::awaitable<std::vector<state::stored_result>> load_results(std::string after) override;

    /// Switching to cluster mode: copies alert records, ledgers and silences of `local` (a
    /// single daemon's state_dir, read directly: start-up only) for keys the shared store does
    /// not have yet, in one transaction. Returns how many alert records were imported.
    asio::awaitable<std::size_t> import_missing(state::sqlite_state_store& local);

private:
    steady_clock::time_point deadline() const;
    asio::awaitable<db::rowset> exec(std::string sql, std::vector<db::value> params);
    asio::awaitable<db::rowset> exec(std::string sql);
    asio::awaitable<void> begin();
    asio::awaitable<void> commit_transaction();
    /// After a transaction's body: nothing when it succeeded, else ROLLBACK and rethrow.
    asio::awaitable<void> roll_back_on(std::exception_ptr failure);
    /// Inside a transaction: throws fenced_write unless this member is live under its epoch.
    asio::awaitable<void> require_membership(std::uint64_t epoch);
    std::string table(const char* name) const;
    /// Deletes the rows of `table_name` whose `column` is one of `keys` (a JSON array).
    asio::awaitable<void> delete_listed(const char* table_name, const char* column, std::string keys);

    duration timeout_;
    db::pg_client connection_;
    std::string schema_;
    std::string member_;
    std::string lease_ms_;
    std::shared_ptr<const std::atomic<std::uint64_t>> epoch_;
};

}  // namespace invariantd::cluster
