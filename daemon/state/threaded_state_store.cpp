#include "daemon/state/threaded_state_store.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <type_traits>

#include "daemon/db/run_blocking.hpp"

namespace invariantd::state {

threaded_state_store::threaded_state_store(std::unique_ptr<sqlite_state_store> store) : store_(std::move(store)) {}

threaded_state_store::~threaded_state_store() {
    worker_.join();
}

namespace {

/// run_blocking needs a result; a write has none.
struct nothing {};

}  // namespace

template <typename Work>
auto threaded_state_store::on_worker(Work work) {
    auto* store = store_.get();
    auto job = [store, work = std::move(work)]() mutable {
        if constexpr (std::is_void_v<std::invoke_result_t<Work&, sqlite_state_store&>>) {
            work(*store);
            return nothing{};
        } else {
            return work(*store);
        }
    };
    return run_blocking(worker_.get_executor(), std::move(job));
}

asio::awaitable<std::vector<stored_alert>> threaded_state_store::load_alerts() {
    auto work = [](sqlite_state_store& store) { return store.load_alerts(); };
    co_return co_await on_worker(std::move(work));
}

asio::awaitable<std::vector<stored_notification>> threaded_state_store::claim_notifications(double claim_until) {
    auto work = [claim_until](sqlite_state_store& store) { return store.claim_notifications(claim_until); };
    co_return co_await on_worker(std::move(work));
}

asio::awaitable<std::vector<stored_notification>> threaded_state_store::commit(
    std::vector<stored_alert> alerts, std::vector<stored_notification> notifications) {
    auto work = [alerts = std::move(alerts), notifications = std::move(notifications)](
                    sqlite_state_store& store) mutable {
        store.commit(alerts, notifications);
        return std::move(notifications);
    };
    co_return co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::remove_notifications(std::vector<std::int64_t> ids) {
    auto work = [ids = std::move(ids)](sqlite_state_store& store) {
        store.remove_notifications(ids);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::forget_alerts(std::vector<std::string> dedup_keys) {
    auto work = [keys = std::move(dedup_keys)](sqlite_state_store& store) {
        store.forget_alerts(keys);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<std::vector<stored_ledger>> threaded_state_store::load_ledgers() {
    auto work = [](sqlite_state_store& store) { return store.load_ledgers(); };
    co_return co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::write_ledger(stored_ledger ledger) {
    auto work = [ledger = std::move(ledger)](sqlite_state_store& store) {
        const auto started = std::chrono::steady_clock::now();
        store.write_ledger(ledger);
        // tests/bench/offender_ledger.sh reads this line.
        spdlog::debug("offender ledger of {} stored ({} offenders) in {:.2f} ms", ledger.instance,
                      ledger.offenders.size(),
                      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::forget_ledgers(std::vector<std::string> instances) {
    auto work = [instances = std::move(instances)](sqlite_state_store& store) {
        store.forget_ledgers(instances);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<std::vector<std::string>> threaded_state_store::load_silences() {
    auto work = [](sqlite_state_store& store) { return store.load_silences(); };
    co_return co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::write_silence(std::string id, std::string document) {
    auto work = [id = std::move(id), document = std::move(document)](sqlite_state_store& store) {
        store.write_silence(id, document);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::forget_silences(std::vector<std::string> ids) {
    auto work = [ids = std::move(ids)](sqlite_state_store& store) {
        store.forget_silences(ids);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<std::vector<stored_history_point>> threaded_state_store::load_history(std::size_t per_instance) {
    auto work = [per_instance](sqlite_state_store& store) { return store.load_history(per_instance); };
    co_return co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::forget_history(std::vector<std::string> instances) {
    auto work = [instances = std::move(instances)](sqlite_state_store& store) {
        store.forget_history(instances);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<void> threaded_state_store::record_run(stored_history_point point, std::size_t keep, std::string,
                                                       std::optional<stored_ledger> ledger) {
    auto work = [point = std::move(point), keep, ledger = std::move(ledger)](sqlite_state_store& store) {
        store.record_run(point, keep, ledger ? &*ledger : nullptr);
    };
    co_await on_worker(std::move(work));
}

asio::awaitable<std::vector<stored_result>> threaded_state_store::load_results(std::string) {
    co_return std::vector<stored_result>{};
}

}  // namespace invariantd::state
