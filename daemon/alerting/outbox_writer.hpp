#pragma once
/// Stage 2 of alerting: makes the book's decisions durable. Owns the state store (the SQLite
/// files on a worker thread of their own, or the shared PostgreSQL store of cluster mode on
/// the loop) and hands it one call at a time, in the order submitted: a read sees every write
/// submitted before it. Loop thread only.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/alerting/alert_book.hpp"
#include "daemon/alerting/mute_schedule.hpp"
#include "daemon/alerting/run_history.hpp"
#include "daemon/common/asio.hpp"
#include "daemon/state/state_store.hpp"

namespace invariantd {

class outbox_writer {
public:
    explicit outbox_writer(asio::any_io_executor loop);
    outbox_writer(const outbox_writer&) = delete;
    outbox_writer& operator=(const outbox_writer&) = delete;

    /// What was in the store at start-up.
    struct loaded_state {
        std::vector<alert_record> records;
        std::vector<state::stored_notification> notifications;
        std::map<check_instance, offender_ledger> ledgers;
        std::vector<silence> silences;
        run_history history;
        std::vector<state::stored_result> results;  ///< cluster mode, oldest first
        std::size_t recovered = 0;  ///< damaged files replaced by empty ones
    };
    /// Opens (creating, migrating, recovering) `<state_dir>/outbox.db`. Start-up only
    /// (blocking); throws state::state_error naming the path when unusable.
    loaded_state open(const std::string& state_dir);
    /// Starts on `store` (cluster mode: the shared store in the coordination database),
    /// loading everything from it. Throws when the store cannot be read.
    asio::awaitable<loaded_state> open_store(std::unique_ptr<state::state_store> store);

    /// Which parts read() loads.
    struct read_parts {
        bool alerts = false;
        bool ledgers = false;
        bool silences = false;
        bool history = false;
        bool claims = false;  ///< claim_notifications(): queued notifications nobody holds
        bool results = false;
        std::string results_after;  ///< watermark for results
    };
    /// Reads from the store after every write submitted before it. Throws when the store
    /// cannot be read.
    asio::awaitable<loaded_state> read(read_parts parts);

    /// Commits records and new notifications in one transaction; returns the notifications'
    /// ids. Throws when the commit fails.
    asio::awaitable<std::vector<std::int64_t>> commit(std::vector<state::stored_alert> alerts,
                                                      std::vector<state::stored_notification> notifications);
    /// A write: one store call (or a few), returning the store's awaitable.
    using store_write = std::function<asio::awaitable<void>(state::state_store&)>;
    /// Runs `write` in its turn; a failure is logged with `failure`, never thrown.
    asio::awaitable<void> write(store_write write, std::string failure);
    /// write() without waiting for it; its turn is taken now.
    void spawn_write(store_write write, std::string failure);
    /// Waits until every submitted write has finished, at most until `deadline`.
    asio::awaitable<void> drain(steady_clock::time_point deadline);

private:
    /// Calls take numbered turns: the number is taken when the call is made, the store is
    /// used only while `serving_` is that number.
    std::uint64_t take_turn();
    asio::awaitable<void> wait_turn(std::uint64_t turn);
    void end_turn();
    asio::awaitable<void> run_write(std::uint64_t turn, store_write write, std::string failure);

    asio::any_io_executor loop_;
    std::unique_ptr<state::state_store> store_;
    asio::steady_timer idle_;
    std::size_t in_flight_ = 0;
    std::uint64_t next_turn_ = 0;
    std::uint64_t serving_ = 0;
    std::map<std::uint64_t, asio::steady_timer*> waiting_;  ///< by turn
};

}  // namespace invariantd
