#pragma once
/// The pool every driver shares: at most `max` connections lent at once (a first-come,
/// first-served semaphore with deadlines), idle connections kept for reuse, the counts behind
/// invariantd_database_connections, and closing through a driver-given closer that must not
/// block the loop (it hands the close to the driver's worker thread: PQfinish and
/// sqlite3_close may wait on the network or the disk). Loop thread only.
///
/// The members of a database set share one `set_slots` instead: there a slot is held by every
/// *open* connection, idle or lent, so the set's connections stay within its bound while each
/// member keeps its idle connections for reuse; a member that needs a slot when none is free
/// closes the set's longest-idle connection (another member's) and takes its slot.
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "daemon/db/async_semaphore.hpp"
#include "daemon/db/database.hpp"

namespace invariantd::db {

/// The connection slots of one database set, shared by its members' pools.
class set_slots {
public:
    set_slots(asio::any_io_executor loop, std::size_t count) : semaphore(loop, std::max<std::size_t>(1, count)) {}

    /// A member pool, as the set sees it: when its longest-idle connection went idle, and a
    /// way to close that one (which releases its slot).
    class idle_holder {
    public:
        virtual ~idle_holder() = default;
        virtual std::optional<steady_clock::time_point> longest_idle_since() const = 0;
        virtual void close_longest_idle() = 0;
    };

    /// Closes the longest-idle connection of the whole set; false when none is idle.
    bool close_longest_idle() {
        idle_holder* oldest = nullptr;
        steady_clock::time_point oldest_since{};
        for (auto* holder : holders_) {
            const auto since = holder->longest_idle_since();
            if (since && (oldest == nullptr || *since < oldest_since)) {
                oldest = holder;
                oldest_since = *since;
            }
        }
        if (oldest == nullptr) return false;
        oldest->close_longest_idle();
        return true;
    }

    void enrol(idle_holder* holder) { holders_.push_back(holder); }
    void leave(idle_holder* holder) { std::erase(holders_, holder); }

    async_semaphore semaphore;  ///< one unit per open connection of the set

private:
    std::vector<idle_holder*> holders_;
};

template <typename Connection>
class connection_pool final : public set_slots::idle_holder {
public:
    using closer = std::function<void(Connection)>;

    connection_pool(asio::any_io_executor loop, std::size_t max_connections, closer close)
        : slots_(std::make_shared<async_semaphore>(loop, std::max<std::size_t>(1, max_connections))),
          close_(std::move(close)) {}
    /// A member of a database set: its slots are the set's, held by open connections.
    connection_pool(std::shared_ptr<set_slots> set, closer close) : set_(std::move(set)), close_(std::move(close)) {
        set_->enrol(this);
    }
    ~connection_pool() override {
        close();
        if (set_) set_->leave(this);
    }
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    /// Takes a slot within `deadline`; false when none became free in time. The caller then
    /// takes an idle connection or opens one, and must end with give_back() or abandon().
    asio::awaitable<bool> acquire(steady_clock::time_point deadline) {
        if (set_ && idle_.size() > claimed_) {
            // The loan takes an idle connection of this member, and with it that one's slot.
            ++claimed_;
            ++busy_;
            co_return true;
        }
        auto& semaphore = set_ ? set_->semaphore : *slots_;
        // No free slot in the set, nobody queued before us: the set's longest-idle
        // connection makes room (its slot goes to the semaphore, FIFO like any release).
        if (set_ && semaphore.available() == 0 && semaphore.waiting() == 0) set_->close_longest_idle();
        // The co_await stands alone, not inside the if: written as `if (!co_await ...)` this
        // class-template coroutine died with SIGILL at its first resume (g++ 12, ASan+UBSan).
        const bool granted = co_await semaphore.acquire(deadline);
        if (granted) ++busy_;
        co_return granted;
    }
    /// The oldest idle connection that `usable` accepts; the ones it refuses are closed. In a
    /// set member only the one acquire() claimed is offered: refused, its slot stays with
    /// the loan for the connection the caller opens instead.
    std::optional<Connection> take_idle(const std::function<bool(const Connection&)>& usable) {
        if (set_) {
            if (claimed_ == 0 || idle_.empty()) return std::nullopt;
            --claimed_;
            Connection candidate = std::move(idle_.front().connection);
            idle_.pop_front();
            if (usable(candidate)) return candidate;
            close_(std::move(candidate));
            return std::nullopt;
        }
        while (!idle_.empty()) {
            Connection candidate = std::move(idle_.front().connection);
            idle_.pop_front();
            if (usable(candidate)) return candidate;
            close_(std::move(candidate));
        }
        return std::nullopt;
    }
    /// Ends a loan: the connection is kept for reuse if `reusable` and the pool is open,
    /// closed otherwise. A set member does not keep it while another loan waits for a slot.
    void give_back(Connection connection, bool reusable) {
        --busy_;
        const bool someone_waits = set_ && set_->semaphore.waiting() > 0;
        if (reusable && !closed_ && !someone_waits) {
            idle_.push_back({std::move(connection), steady_clock::now()});
            if (!set_) slots_->release();
            return;
        }
        close_(std::move(connection));
        release_slot();
    }
    /// Ends a loan whose connection could not be opened.
    void abandon() {
        --busy_;
        release_slot();
    }
    /// Stops reuse: idle connections are closed now, lent ones when they come back.
    void close() {
        closed_ = true;
        // A claimed connection's slot stays with its loan (which then opens none: closed).
        for (std::size_t i = 0; i < idle_.size(); ++i) {
            close_(std::move(idle_[i].connection));
            if (set_ && i >= claimed_) set_->semaphore.release();
        }
        idle_.clear();
        claimed_ = 0;
    }
    bool closed() const { return closed_; }
    pool_stats stats() const { return {idle_.size(), busy_}; }

    // Idle connections queue oldest first; the first `claimed_` are promised to loans.
    std::optional<steady_clock::time_point> longest_idle_since() const override {
        if (idle_.size() <= claimed_) return std::nullopt;
        return idle_[claimed_].since;
    }
    void close_longest_idle() override {
        if (idle_.size() <= claimed_) return;
        const auto at = idle_.begin() + static_cast<std::ptrdiff_t>(claimed_);
        close_(std::move(at->connection));
        idle_.erase(at);
        release_slot();
    }

private:
    struct idle_connection {
        Connection connection;
        steady_clock::time_point since;
    };
    void release_slot() {
        if (set_)
            set_->semaphore.release();
        else
            slots_->release();
    }

    std::shared_ptr<async_semaphore> slots_;  ///< a plain pool's: units are lent connections
    std::shared_ptr<set_slots> set_;          ///< a set member's: units are open connections
    closer close_;
    std::deque<idle_connection> idle_;
    std::size_t claimed_ = 0;  ///< set member: idle connections promised to loans in progress
    std::size_t busy_ = 0;
    bool closed_ = false;
};

}  // namespace invariantd::db
