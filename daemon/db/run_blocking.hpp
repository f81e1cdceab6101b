#pragma once
#include <exception>
#include <type_traits>

#include "daemon/common/asio.hpp"

namespace invariantd {

/// Runs `work` (a blocking callable) on `pool` and resumes the awaiting coroutine on its own
/// executor with the result, or rethrows what `work` threw. The event loop never blocks.
///
/// Deliberately not a coroutine, and callers pass a *named* callable (std::move(job)), never a
/// lambda temporary written inside the co_await expression: g++ 12 destroys such a temporary
/// twice when it has captures (seen as a double free of a captured std::string).
template <typename Executor, typename Work>
auto run_blocking(Executor pool, Work work) {
    using result_type = std::invoke_result_t<Work&>;
    static_assert(std::is_default_constructible_v<result_type>, "run_blocking needs a default-constructible result");
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, result_type)>(
        [pool](auto handler, Work job) mutable {
            // Tracked: the loop must not run out of work while the job is on the pool.
            auto home = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
            asio::post(pool, [home, job = std::move(job), handler = std::move(handler)]() mutable {
                std::exception_ptr failure;
                result_type result{};
                try {
                    result = job();
                } catch (...) {
                    failure = std::current_exception();
                }
                asio::post(home, [handler = std::move(handler), failure, result = std::move(result)]() mutable {
                    std::move(handler)(failure, std::move(result));
                });
            });
        },
        asio::use_awaitable, std::move(work));
}

}  // namespace invariantd
