#pragma once
/// The pool every driver shares: at most `max` connections lent at once (a first-come,
/// first-served semaphore with deadlines), idle connections kept for reuse, the counts behind
/// invariantd_database_connections, and closing through a driver-given closer that must not
/// block the loop (it hands the close to the driver's worker thread: PQfinish and
/// sqlite3_close may wait on the network or the disk). Loop thread only.
#include <deque>
#include <functional>
#include <optional>

#include "daemon/db/async_semaphore.hpp"
#include "daemon/db/database.hpp"

namespace invariantd::db {

template <typename Connection>
class connection_pool {
public:
    using closer = std::function<void(Connection)>;

    connection_pool(asio::any_io_executor loop, std::size_t max_connections, closer close)
        : slots_(std::make_shared<async_semaphore>(loop, std::max<std::size_t>(1, max_connections))),
          close_(std::move(close)) {}
    /// A pool whose slots are shared with other pools (the members of a database set).
    connection_pool(std::shared_ptr<async_semaphore> shared_slots, closer close)
        : slots_(std::move(shared_slots)), close_(std::move(close)) {}
    ~connection_pool() { close(); }
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    /// Takes a slot within `deadline`; false when none became free in time. The caller then
    /// takes an idle connection or opens one, and must end with give_back() or abandon().
    asio::awaitable<bool> acquire(steady_clock::time_point deadline) {
        // The co_await stands alone, not inside the if: written as `if (!co_await ...)` this
        // class-template coroutine died with SIGILL at its first resume (g++ 12, ASan+UBSan).
        const bool granted = co_await slots_->acquire(deadline);
        if (granted) ++busy_;
        co_return granted;
    }
    /// The oldest idle connection that `usable` accepts; the ones it refuses are closed.
    std::optional<Connection> take_idle(const std::function<bool(const Connection&)>& usable) {
        while (!idle_.empty()) {
            Connection candidate = std::move(idle_.front());
            idle_.pop_front();
            if (usable(candidate)) return candidate;
            close_(std::move(candidate));
        }
        return std::nullopt;
    }
    /// Ends a loan: the connection is kept for reuse if `reusable` and the pool is open,
    /// closed otherwise.
    void give_back(Connection connection, bool reusable) {
        --busy_;
        if (reusable && !closed_) idle_.push_back(std::move(connection));
        else close_(std::move(connection));
        slots_->release();
    }
    /// Ends a loan whose connection could not be opened.
    void abandon() {
        --busy_;
        slots_->release();
    }
    /// Stops reuse: idle connections are closed now, lent ones when they come back.
    void close() {
        closed_ = true;
        while (!idle_.empty()) {
            close_(std::move(idle_.front()));
            idle_.pop_front();
        }
    }
    bool closed() const { return closed_; }
    pool_stats stats() const { return {idle_.size(), busy_}; }

private:
    std::shared_ptr<async_semaphore> slots_;
    closer close_;
    std::deque<Connection> idle_;
    std::size_t busy_ = 0;
    bool closed_ = false;
};

}  // namespace invariantd::db
