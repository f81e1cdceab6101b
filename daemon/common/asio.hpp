#pragma once
/// The one way the project includes Boost.Asio and Boost.Beast.
///
/// g++ 12 fails inside <boost/asio/awaitable.hpp> unless <utility> was included first,
/// so every translation unit reaches Asio through this header.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

namespace asio = boost::asio;

namespace invariantd {

using steady_clock = std::chrono::steady_clock;
using system_clock = std::chrono::system_clock;

/// Completion handler for co_spawn that logs an exception escaping a detached coroutine
/// instead of terminating or silently dropping it. `what` names the coroutine in the log.
struct log_escaped_exception {
    const char* what;
    void operator()(std::exception_ptr error) const;
};

/// Runs `work` on `loop` and returns its result (or rethrows), running the loop until it is
/// done. Start-up and command-line code only, before the daemon's loop runs for good: the
/// same asynchronous code (e.g. the coordination database's client) serves both.
template <typename T>
T complete_on(asio::io_context& loop, asio::awaitable<T> work) {
    auto result = asio::co_spawn(loop, std::move(work), asio::use_future);
    while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        if (loop.run_one() == 0) loop.restart();
    }
    if (loop.stopped()) loop.restart();
    return result.get();
}

}  // namespace invariantd
