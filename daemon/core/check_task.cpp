#include "daemon/core/check_task.hpp"

#include <spdlog/spdlog.h>

#include "daemon/core/check_runner.hpp"

namespace invariantd {

check_task::check_task(asio::any_io_executor loop, check_instance instance, config::check_config config,
                       const checks::check_module& module, std::shared_ptr<db::database> database,
                       result_observer observer)
    : loop_(loop),
      instance_(std::move(instance)),
      config_(std::move(config)),
      module_(module),
      database_(std::move(database)),
      observer_(std::move(observer)),
      wake_(loop),
      random_(std::random_device{}()) {}

void check_task::start() {
    asio::co_spawn(loop_, [self = shared_from_this()]() { return self->schedule_loop(); },
                   log_escaped_exception{"check schedule"});
}

void check_task::stop(bool silent) {
    stopping_ = true;
    silent_ = silent_ || silent;
    wake_.cancel();
}

void check_task::request_run() {
    if (stopping_) return;
    if (running_) {
        run_requested_ = true;
    } else {
        wake_.cancel();
    }
}

duration check_task::jitter() {
    const auto bound = std::min<std::int64_t>(config_.interval.count() / 10, 15000);
    if (bound <= 0) return duration{0};
    return duration{std::uniform_int_distribution<std::int64_t>(0, bound)(random_)};
}

asio::awaitable<void> check_task::schedule_loop() {
    while (!stopping_) {
        run_requested_ = false;
        const auto began = steady_clock::now();
        if (may_run()) {
            running_ = true;
            const auto result = co_await run_check_once(config_, module_, *database_);
            running_ = false;
            record(result);
        }
        wake_waiters();
        if (stopping_) break;
        if (run_requested_) continue;
        wake_.expires_at(began + config_.interval + jitter());
        boost::system::error_code ec;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    exited_ = true;
    wake_waiters();
}

void check_task::record(const checks::check_result& result) {
    ++status_.completed_runs;
    if (result.status == checks::run_status::ok) {
        status_.consecutive_failures = 0;
        status_.last_good = result;
    } else {
        ++status_.consecutive_failures;
        spdlog::warn("check '{}' could not run ({}): {}", instance_.name(), checks::to_string(result.status), result.error);
    }
    status_.last = result;
    if (!silent_ && observer_) observer_(*this, result);
}

std::string check_task::state_name(alert_state alert) const {
    if (alert == alert_state::firing) return "firing";
    if (status_.last && status_.last->status != checks::run_status::ok) return "error";
    return to_string(alert);
}

void check_task::wake_waiters() {
    for (auto& weak : waiters_) {
        if (auto timer = weak.lock()) timer->cancel();
    }
    waiters_.clear();
}

asio::awaitable<void> check_task::wait_for_change(steady_clock::time_point deadline) {
    auto timer = std::make_shared<asio::steady_timer>(loop_, deadline);
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> check_task::run_now_and_wait(steady_clock::time_point deadline) {
    // A run already in progress started before the request; wait for the one after it.
    const std::uint64_t target = status_.completed_runs + (running_ ? 2 : 1);
    request_run();
    while (status_.completed_runs < target && !exited_ && steady_clock::now() < deadline) {
        co_await wait_for_change(deadline);
    }
}

asio::awaitable<bool> check_task::wait_stopped(steady_clock::time_point deadline) {
    while (!exited_ && steady_clock::now() < deadline) co_await wait_for_change(deadline);
    co_return exited_;
}

}  // namespace invariantd
