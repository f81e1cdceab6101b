#pragma once
/// A single daemon's state store: the SQLite files of `state_dir` (sqlite_state_store) behind
/// the asynchronous state_store interface. Every call runs on one worker thread of its own,
/// in the order made, so the event loop never waits on a disk (fsync).
#include <memory>

#include "daemon/state/sqlite_state_store.hpp"
#include "daemon/state/state_store.hpp"

namespace invariantd::state {

class threaded_state_store final : public state_store {
public:
    explicit threaded_state_store(std::unique_ptr<sqlite_state_store> store);
    ~threaded_state_store() override;

    std::uint64_t writer_epoch() const override { return store_->writer_epoch(); }
    asio::awaitable<std::vector<stored_alert>> load_alerts() override;
    asio::awaitable<std::vector<stored_notification>> claim_notifications(double claim_until) override;
    asio::awaitable<std::vector<stored_notification>> commit(std::vector<stored_alert> alerts,
                                                             std::vector<stored_notification> notifications) override;
    asio::awaitable<void> remove_notifications(std::vector<std::int64_t> ids) override;
    asio::awaitable<void> forget_alerts(std::vector<std::string> dedup_keys) override;
    asio::awaitable<std::vector<stored_ledger>> load_ledgers() override;
    asio::awaitable<void> write_ledger(stored_ledger ledger) override;
    asio::awaitable<void> forget_ledgers(std::vector<std::string> instances) override;
    asio::awaitable<std::vector<std::string>> load_silences() override;
    asio::awaitable<void> write_silence(std::string id, std::string document) override;
    asio::awaitable<void> forget_silences(std::vector<std::string> ids) override;
    asio::awaitable<std::vector<stored_history_point>> load_history(std::size_t per_instance) override;
    asio::awaitable<void> forget_history(std::vector<std::string> instances) override;
    asio::awaitable<void> record_run(stored_history_point point, std::size_t keep, std::string document,
                                     std::optional<stored_ledger> ledger) override;
    asio::awaitable<std::vector<stored_result>> load_results(std::string after) override;

private:
    /// Runs `work(store)` on the worker; resumes on the caller's executor with its result (an
    /// empty placeholder when `work` returns nothing: a write).
    template <typename Work>
    auto on_worker(Work work);

    std::unique_ptr<sqlite_state_store> store_;
    asio::thread_pool worker_{1};  // after store_: joined before the store closes
};

}  // namespace invariantd::state
