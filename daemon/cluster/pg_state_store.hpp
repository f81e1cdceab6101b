#pragma once
/// The shared state of cluster mode (SPEC §12): the state_store interface over the
/// coordination database, so the alert book and the pipeline work unchanged. Every call runs
/// on the outbox writer's worker thread on a connection of its own (blocking libpq there,
/// never on the loop).
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

#include "daemon/cluster/blocking_pg.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/state/state_store.hpp"

namespace invariantd::cluster {

class pg_state_store final : public state::state_store {
public:
    /// `epoch` is the coordinator's current membership epoch (0: not a member).
    pg_state_store(std::string dsn, std::string schema, std::string member, duration lease,
                   std::shared_ptr<const std::atomic<std::uint64_t>> epoch);

    std::uint64_t writer_epoch() const override { return epoch_->load(); }
    std::vector<state::stored_alert> load_alerts() override;
    std::vector<state::stored_notification> claim_notifications(double claim_until) override;
    void commit(const std::vector<state::stored_alert>& alerts,
                std::vector<state::stored_notification>& notifications) override;
    void remove_notifications(const std::vector<std::int64_t>& ids) override;
    void forget_alerts(const std::vector<std::string>& dedup_keys) override;
    std::vector<state::stored_ledger> load_ledgers() override;
    void write_ledger(const state::stored_ledger& ledger) override;
    void forget_ledgers(const std::vector<std::string>& instances) override;
    std::vector<std::string> load_silences() override;
    void write_silence(const std::string& id, const std::string& document) override;
    void forget_silences(const std::vector<std::string>& ids) override;
    std::vector<state::stored_history_point> load_history(std::size_t per_instance) override;
    void append_history(const state::stored_history_point& point, std::size_t keep) override;
    void forget_history(const std::vector<std::string>& instances) override;
    void record_run(const state::stored_history_point& point, std::size_t keep, const std::string& document,
                    const state::stored_ledger* ledger) override;
    std::vector<state::stored_result> load_results(const std::string& after) override;

    /// Switching to cluster mode: copies alert records, ledgers and silences of `local` (a
    /// single daemon's state_dir) for keys the shared store does not have yet. Returns how
    /// many alert records were imported.
    std::size_t import_missing(state::state_store& local);

private:
    /// Runs `body` in a transaction (ROLLBACK on any exception, which is rethrown).
    template <typename Body>
    void transaction(Body body);
    /// Inside a transaction: throws fenced_write unless this member is live under its epoch.
    void require_membership(std::uint64_t epoch);
    std::string table(const char* name) const;

    blocking_pg connection_;
    std::string schema_;
    std::string member_;
    std::string lease_ms_;
    std::shared_ptr<const std::atomic<std::uint64_t>> epoch_;
};

}  // namespace invariantd::cluster
