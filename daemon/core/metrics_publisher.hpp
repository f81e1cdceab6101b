#pragma once
#include <functional>
#include <memory>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/core/metrics.hpp"
#include "daemon/core/metrics_exposition.hpp"

namespace invariantd {

/// Keeps the /metrics body prepared (SPEC §11): when the series change it rebuilds the text
/// and its gzip form on its own worker thread — at most once per `spacing`, right away after
/// a quiet spell — so a scrape copies bytes and appends process_*, whatever the number of
/// checks, and never holds up the loop (or /health) with serialisation. While builds are
/// cheap (a body under `wait_budget_bytes`, a few hundred checks) a scrape waits for one
/// that holds every change so far, so /metrics never lags behind the API; past that a
/// scrape is served the prepared body, at most `spacing` plus one build old. fresh() is for
/// answers that promise their results are visible (POST run?wait=1, reload, silences).
/// Builds compress fast (build_gzip_level); once the series have not changed for a whole
/// `spacing` after a build, the same text is compressed again as small as it gets
/// (polished_gzip_level) and that form is served until the next change.
/// Loop thread only.
class metrics_publisher {
public:
    /// `refresh` sets the series that are derived rather than recorded (silenced, connection
    /// counts) just before each build and about once a second.
    metrics_publisher(asio::any_io_executor loop, daemon_metrics& metrics, std::function<void()> refresh,
                      duration spacing = std::chrono::milliseconds(250));
    ~metrics_publisher();
    metrics_publisher(const metrics_publisher&) = delete;
    metrics_publisher& operator=(const metrics_publisher&) = delete;

    void start();
    void stop();
    /// Called on every change of the series (daemon_metrics::on_change).
    void changed();

    /// The body for a scrape: fresh() while builds are cheap, else the prepared one.
    asio::awaitable<std::shared_ptr<const prepared_exposition>> current();
    /// The body once it holds every change made before this call.
    asio::awaitable<std::shared_ptr<const prepared_exposition>> fresh();

    /// A scrape's answer: the prepared body plus process_* read now, gzip when asked.
    std::string scrape_body(const prepared_exposition& prepared, bool gzip) const;

private:
    asio::awaitable<void> build_loop();
    /// Replaces the body's gzip form by one at polished_gzip_level (same text).
    asio::awaitable<void> polish();

    asio::any_io_executor loop_;
    daemon_metrics& metrics_;
    std::function<void()> refresh_;
    duration spacing_;
    /// Up to this size (a few hundred checks; a build well under 5 ms) a scrape waits for a
    /// fresh body. Judged by size, not by a measured time, so a loaded machine does not make
    /// the answer flip.
    static constexpr std::size_t wait_budget_bytes = 256 * 1024;
    asio::thread_pool worker_{1};
    asio::steady_timer wake_;   ///< the builder sleeps on it; cancel() wakes it
    asio::steady_timer built_;  ///< waiters for a build sleep on it; cancel() wakes them all
    std::shared_ptr<const prepared_exposition> body_;  ///< null until the first build
    std::uint64_t built_generation_ = 0;
    bool urgent_ = false;
    bool stopping_ = false;
};

}  // namespace invariantd
