#pragma once
/// Stage 2 of alerting: makes the book's decisions durable. Owns the state store and the
/// one worker thread every store call runs on, so the event loop never waits on a disk.
/// Writes run in the order they are submitted (one worker, FIFO).
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
    ~outbox_writer();
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
    /// loading everything from it. Start-up only (blocking).
    loaded_state open_store(std::unique_ptr<state::state_store> store);

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
    /// Reads from the store on the worker, after every write submitted before it. Throws
    /// when the store cannot be read.
    asio::awaitable<loaded_state> read(read_parts parts);

    /// Commits records and new notifications in one transaction on the worker; returns the
    /// notifications' ids. Throws when the commit fails.
    asio::awaitable<std::vector<std::int64_t>> commit(std::vector<state::stored_alert> alerts,
                                                      std::vector<state::stored_notification> notifications);
    /// Runs `write` on the worker; a failure is logged with `failure`, never thrown.
    asio::awaitable<void> write(std::function<void(state::state_store&)> write, std::string failure);
    /// write() without waiting for it.
    void spawn_write(std::function<void(state::state_store&)> write, std::string failure);
    /// Waits until every submitted write has finished, at most until `deadline`.
    asio::awaitable<void> drain(steady_clock::time_point deadline);

private:
    void finished();

    asio::any_io_executor loop_;
    std::unique_ptr<state::state_store> store_;
    asio::thread_pool worker_{1};  // after store_: joined before the store closes
    asio::steady_timer idle_;
    std::size_t in_flight_ = 0;
};

}  // namespace invariantd
