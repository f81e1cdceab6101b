// The connection pool's two ways of counting: a plain pool bounds lent connections; the
// members of a database set share slots held by open connections, idle ones included.
#include "daemon/db/connection_pool.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <set>

#include "tests/support/loop.hpp"

using namespace invariantd;
using namespace invariantd::db;
using invariantd::test::run_to_completion;

TEST_CASE("set members keep idle connections, within the set's bound, and close each other's to run",
          "[db][pool]") {
    asio::io_context loop;
    auto slots = std::make_shared<set_slots>(loop.get_executor(), 2);
    std::set<int> open;  // the "connections": ids, closed by the pools' closer
    int next_id = 0;
    const auto closer = [&](int id) { open.erase(id); };
    connection_pool<int> a(slots, closer), b(slots, closer), c(slots, closer);
    const auto far = steady_clock::now() + std::chrono::seconds(5);
    const auto any = [](const int&) { return true; };

    // One loan: take an idle connection or open one, and give it back for reuse.
    const auto borrow = [&](connection_pool<int>& pool) -> asio::awaitable<int> {
        const bool granted = co_await pool.acquire(far);
        REQUIRE(granted);
        auto idle = pool.take_idle(any);
        int id = 0;
        if (idle) {
            id = *idle;
        } else {
            id = ++next_id;
            open.insert(id);
        }
        co_return id;
    };

    const int a1 = run_to_completion(loop, borrow(a));
    a.give_back(a1, true);
    const int b1 = run_to_completion(loop, borrow(b));
    b.give_back(b1, true);
    CHECK(open == std::set<int>{a1, b1});
    CHECK(a.stats().idle == 1);
    // Reuse: a's next loan is its idle connection, no new one.
    CHECK(run_to_completion(loop, borrow(a)) == a1);
    a.give_back(a1, true);
    CHECK(open.size() == 2);

    // c needs a slot; none is free: the set's longest-idle connection (b's: a's was used
    // since) is closed for it.
    const int c1 = run_to_completion(loop, borrow(c));
    CHECK(open == std::set<int>{a1, c1});
    CHECK(b.stats().idle == 0);
    c.give_back(c1, true);

    // b again: a's connection is now the longest idle.
    const int b2 = run_to_completion(loop, borrow(b));
    CHECK(open == std::set<int>{c1, b2});
    CHECK(run_to_completion(loop, borrow(c)) == c1);  // c's own idle one
    // Both slots lent, nothing idle: a waits; a connection given back meanwhile goes to it
    // (closed, its slot handed over) instead of staying idle.
    auto waiting = asio::co_spawn(loop, borrow(a), asio::use_future);
    loop.restart();
    loop.poll();
    CHECK(waiting.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
    b.give_back(b2, true);
    loop.restart();
    loop.run();
    const int a2 = waiting.get();
    CHECK(open == std::set<int>{c1, a2});
    CHECK(b.stats().idle == 0);
    a.give_back(a2, false);  // not reusable: closed, its slot free
    c.give_back(c1, true);
    CHECK(open == std::set<int>{c1});
    CHECK(slots->semaphore.available() == 1);

    // Closing a member closes its idle connections and frees their slots.
    c.close();
    CHECK(open.empty());
    CHECK(slots->semaphore.available() == 2);
}

TEST_CASE("a plain pool bounds lent connections and keeps idle ones without holding slots", "[db][pool]") {
    asio::io_context loop;
    int closed = 0;
    connection_pool<int> pool(loop.get_executor(), 1, [&](int) { ++closed; });
    const auto far = steady_clock::now() + std::chrono::seconds(5);
    CHECK(run_to_completion(loop, pool.acquire(far)));
    pool.give_back(7, true);
    CHECK(pool.stats().idle == 1);
    CHECK(run_to_completion(loop, pool.acquire(far)));
    CHECK(pool.take_idle([](const int& id) { return id == 7; }) == 7);
    pool.give_back(7, false);
    CHECK(closed == 1);
}
