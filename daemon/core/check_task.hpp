#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "checks/module.hpp"
#include "daemon/config/config.hpp"
#include "daemon/alerting/alert_book.hpp"
#include "daemon/common/check_instance.hpp"
#include "daemon/db/database.hpp"

namespace invariantd {

/// What the API and the metrics know about one check.
struct check_status {
    std::optional<checks::check_result> last;       ///< the last run, successful or not
    std::optional<checks::check_result> last_good;  ///< the last successful run
    std::uint64_t completed_runs = 0;
    std::size_t consecutive_failures = 0;
};

/// One configured check instance and its schedule: a coroutine that runs the check at start-up and
/// then every `interval` (measured from the start of a run, plus up to 10 % jitter, at most
/// 15 s) — never two runs of the same check at once. Created and used on the loop thread
/// only; owned through shared_ptr because its coroutine keeps it alive until it stops.
class check_task : public std::enable_shared_from_this<check_task> {
public:
    /// Called on the loop after every run, before waiters are woken.
    using result_observer = std::function<void(check_task&, const checks::check_result&)>;

    check_task(asio::any_io_executor loop, check_instance instance, config::check_config config,
               const checks::check_module& module, std::shared_ptr<db::database> database, result_observer observer);
    /// Starts the schedule; the first run begins immediately.
    void start();
    /// Asked before every scheduled or requested run: false skips it (a maintenance window
    /// with action pause); the schedule goes on and the last results stay as they are.
    void set_run_gate(std::function<bool()> gate) { gate_ = std::move(gate); }
    bool may_run() const { return !gate_ || gate_(); }
    /// Stops scheduling; a run in progress finishes, and its result is still observed
    /// unless `silent` (a check removed by reload must not re-create its metrics).
    void stop(bool silent);
    /// Asks for a run now: starts one if idle, or one more right after the current run.
    void request_run();
    /// request_run() and wait until that run has finished or `deadline` passed.
    asio::awaitable<void> run_now_and_wait(steady_clock::time_point deadline);
    /// Waits until the coroutine has exited or `deadline` passed; true if it exited.
    asio::awaitable<bool> wait_stopped(steady_clock::time_point deadline);

    const check_instance& instance() const { return instance_; }
    const config::check_config& config() const { return config_; }
    const checks::check_module& module() const { return module_; }
    const std::shared_ptr<db::database>& database() const { return database_; }
    const check_status& status() const { return status_; }
    /// Cluster mode: the status another member (its owner) stored; shown as this check's own
    /// while this member does not run it, and exported when it comes here.
    void adopt_status(check_status status) { status_ = std::move(status); }
    bool running() const { return running_; }
    bool stopped() const { return exited_; }
    /// "ok", "pending", "firing" or "error" as the API reports it, given the value alert's
    /// state (owned by the alert book).
    std::string state_name(alert_state alert) const;

private:
    asio::awaitable<void> schedule_loop();
    void record(const checks::check_result& result);
    duration jitter();
    void wake_waiters();
    asio::awaitable<void> wait_for_change(steady_clock::time_point deadline);

    asio::any_io_executor loop_;
    check_instance instance_;
    config::check_config config_;
    const checks::check_module& module_;
    std::shared_ptr<db::database> database_;
    result_observer observer_;
    std::function<bool()> gate_;
    asio::steady_timer wake_;
    std::vector<std::weak_ptr<asio::steady_timer>> waiters_;
    check_status status_;
    std::mt19937_64 random_;
    bool running_ = false;
    bool run_requested_ = false;
    bool stopping_ = false;
    bool silent_ = false;
    bool exited_ = false;
};

}  // namespace invariantd
