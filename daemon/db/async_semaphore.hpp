#pragma once
#include <cstddef>
#include <deque>
#include <memory>

#include "daemon/common/asio.hpp"

namespace invariantd::db {

/// Counting semaphore for coroutines on one event loop: bounds connections per database.
/// Waiters are served first come, first served. Loop thread only; not thread-safe.
class async_semaphore {
public:
    async_semaphore(asio::any_io_executor executor, std::size_t count) : executor_(executor), available_(count) {}

    /// Takes one unit, waiting until `deadline` at most. Returns false on timeout.
    asio::awaitable<bool> acquire(steady_clock::time_point deadline) {
        if (available_ > 0 && waiters_.empty()) {
            --available_;
            co_return true;
        }
        auto entry = std::make_shared<waiter>(executor_);
        entry->timer.expires_at(deadline);
        waiters_.push_back(entry);
        boost::system::error_code ec;
        co_await entry->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        // A grant may race with the deadline; the grant wins because release() already
        // counted this waiter as the new holder.
        if (entry->granted) co_return true;
        std::erase(waiters_, entry);
        co_return false;
    }

    /// Returns one unit, handing it straight to the oldest waiter if there is one.
    void release() {
        if (!waiters_.empty()) {
            auto next = waiters_.front();
            waiters_.pop_front();
            next->granted = true;
            next->timer.cancel();
            return;
        }
        ++available_;
    }

    std::size_t available() const { return available_; }
    std::size_t waiting() const { return waiters_.size(); }

private:
    struct waiter {
        explicit waiter(asio::any_io_executor ex) : timer(ex) {}
        asio::steady_timer timer;
        bool granted = false;
    };
    asio::any_io_executor executor_;
    std::size_t available_;
    std::deque<std::shared_ptr<waiter>> waiters_;
};

}  // namespace invariantd::db
