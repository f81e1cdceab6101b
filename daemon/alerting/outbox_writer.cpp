#include "daemon/alerting/outbox_writer.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "daemon/state/sqlite_state_store.hpp"
#include "daemon/state/threaded_state_store.hpp"

namespace invariantd {

namespace {

system_clock::time_point from_unix(double seconds) {
    return system_clock::time_point(
        std::chrono::duration_cast<system_clock::duration>(std::chrono::duration<double>(seconds)));
}

/// What a read brought from the store, as stored.
struct stored_parts {
    std::vector<state::stored_ledger> ledgers;
    std::vector<state::stored_history_point> history;
    std::vector<std::string> silences;
    std::vector<state::stored_alert> alerts;
    std::vector<state::stored_result> results;
    std::vector<state::stored_notification> notifications;
};

/// The stored parts in their loaded form.
outbox_writer::loaded_state convert(stored_parts stored_state) {
    outbox_writer::loaded_state out;
    for (auto& stored : stored_state.ledgers) {
        std::vector<ledger_offender> offenders;
        for (auto& entry : stored.offenders)
            offenders.push_back({std::move(entry.key), from_unix(entry.first_seen), entry.is_new});
        std::deque<cleared_offender> cleared;
        for (auto& entry : stored.recently_cleared)
            cleared.push_back(
                {std::move(entry.key), from_unix(entry.first_seen), from_unix(entry.cleared_at)});
        const auto instance = check_instance::from_name(stored.instance);
        std::optional<system_clock::time_point> last_seen;
        if (stored.last_seen > 0) last_seen = from_unix(stored.last_seen);
        out.ledgers.emplace(instance,
                               offender_ledger::restore(std::move(stored.definition), std::move(offenders),
                                                        std::move(cleared), stored.truncated, last_seen));
    }
    for (const auto& point : stored_state.history) {
        const auto outcome = parse_run_outcome(point.outcome);
        if (!outcome) continue;
        out.history.add(point.instance, {from_unix(point.time), point.value, *outcome});
    }
    for (const auto& document : stored_state.silences) {
        try {
            out.silences.push_back(silence_from_json(nlohmann::json::parse(document)));
        } catch (const std::exception& e) {
            spdlog::error("outbox: a stored silence is unreadable ({}); ignoring it", e.what());
        }
    }
    for (const auto& row : stored_state.alerts) {
        try {
            auto record = record_from_json(nlohmann::json::parse(row.record_json));
            record.dedup_key = row.dedup_key;
            record.version = row.version;
            out.records.push_back(std::move(record));
        } catch (const std::exception& e) {
            spdlog::error("outbox: alert record {} is unreadable ({}); ignoring it", row.dedup_key, e.what());
        }
    }
    out.results = std::move(stored_state.results);
    out.notifications = std::move(stored_state.notifications);
    return out;
}

/// Reads `parts` of `store`.
asio::awaitable<outbox_writer::loaded_state> load(state::state_store& store, outbox_writer::read_parts parts) {
    stored_parts stored;
    if (parts.ledgers) stored.ledgers = co_await store.load_ledgers();
    if (parts.history) stored.history = co_await store.load_history(run_history::kept);
    if (parts.silences) stored.silences = co_await store.load_silences();
    if (parts.alerts) stored.alerts = co_await store.load_alerts();
    if (parts.results) stored.results = co_await store.load_results(parts.results_after);
    if (parts.claims) stored.notifications = co_await store.claim_notifications(std::numeric_limits<double>::max());
    co_return convert(std::move(stored));
}

}  // namespace

outbox_writer::outbox_writer(asio::any_io_executor loop) : loop_(loop), idle_(loop) {}

outbox_writer::loaded_state outbox_writer::open(const std::string& state_dir) {
    const auto path = (std::filesystem::path(state_dir) / "outbox.db").string();
    auto store = std::make_unique<state::sqlite_state_store>(path);
    std::size_t recovered = 0;
    const std::pair<const state::opened_state_file*, std::string> files[] = {
        {&store->opened(), path},
        {&store->ledger_opened(), store->ledger_path()},
        {&store->history_opened(), store->history_path()}};
    for (const auto& [opened, file] : files) {
        if (!opened->recovered) continue;
        ++recovered;
        spdlog::error("state file {} was damaged ({}); set it aside as {} and started with an empty one",
                      file, opened->damage, opened->set_aside_as);
    }
    const auto& opened = store->opened();
    if (!opened.recovered && opened.from_version < state::sqlite_state_store::schema_version)
        spdlog::info("state file {}: schema migrated from version {} to {}", path, opened.from_version,
                     state::sqlite_state_store::schema_version);
    // Start-up, before the loop runs: read directly. A claim lasts until the next start: this
    // writer is the file's only one.
    stored_parts stored{.ledgers = store->load_ledgers(),
                        .history = store->load_history(run_history::kept),
                        .silences = store->load_silences(),
                        .alerts = store->load_alerts(),
                        .results = {},
                        .notifications = store->claim_notifications(std::numeric_limits<double>::max())};
    auto loaded = convert(std::move(stored));
    loaded.recovered = recovered;
    store_ = std::make_unique<state::threaded_state_store>(std::move(store));
    return loaded;
}

asio::awaitable<outbox_writer::loaded_state> outbox_writer::open_store(std::unique_ptr<state::state_store> store) {
    read_parts parts{.alerts = true, .ledgers = true, .silences = true, .history = true, .claims = true,
                     .results = true};
    auto loaded = co_await load(*store, std::move(parts));
    store_ = std::move(store);
    co_return loaded;
}

std::uint64_t outbox_writer::take_turn() {
    ++in_flight_;
    return next_turn_++;
}

asio::awaitable<void> outbox_writer::wait_turn(std::uint64_t turn) {
    if (serving_ == turn) co_return;
    asio::steady_timer called(loop_, steady_clock::time_point::max());
    waiting_[turn] = &called;
    boost::system::error_code ec;
    co_await called.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiting_.erase(turn);
}

void outbox_writer::end_turn() {
    ++serving_;
    if (auto next = waiting_.find(serving_); next != waiting_.end()) next->second->cancel();
    if (--in_flight_ == 0) idle_.cancel();
}

asio::awaitable<outbox_writer::loaded_state> outbox_writer::read(read_parts parts) {
    co_await wait_turn(take_turn());
    std::exception_ptr failure;
    loaded_state loaded;
    try {
        if (store_) loaded = co_await load(*store_, std::move(parts));
    } catch (...) {
        failure = std::current_exception();
    }
    end_turn();
    if (failure) std::rethrow_exception(failure);
    co_return loaded;
}

asio::awaitable<std::vector<std::int64_t>> outbox_writer::commit(
    std::vector<state::stored_alert> alerts, std::vector<state::stored_notification> notifications) {
    co_await wait_turn(take_turn());
    std::exception_ptr failure;
    std::vector<std::int64_t> ids;
    try {
        if (store_) {
            const auto committed = co_await store_->commit(std::move(alerts), std::move(notifications));
            for (const auto& row : committed) ids.push_back(row.id);
        }
    } catch (...) {
        failure = std::current_exception();
    }
    end_turn();
    if (failure) std::rethrow_exception(failure);
    co_return ids;
}

asio::awaitable<void> outbox_writer::run_write(std::uint64_t turn, store_write write, std::string failure) {
    co_await wait_turn(turn);
    try {
        if (store_) co_await write(*store_);
    } catch (const std::exception& e) {
        spdlog::error("outbox: {} ({})", failure, e.what());
    }
    end_turn();
}

asio::awaitable<void> outbox_writer::write(store_write write, std::string failure) {
    co_await run_write(take_turn(), std::move(write), std::move(failure));
}

void outbox_writer::spawn_write(store_write write, std::string failure) {
    asio::co_spawn(loop_, run_write(take_turn(), std::move(write), std::move(failure)),
                   log_escaped_exception{"outbox write"});
}

asio::awaitable<void> outbox_writer::drain(steady_clock::time_point deadline) {
    boost::system::error_code ec;
    while (in_flight_ > 0 && steady_clock::now() < deadline) {
        idle_.expires_at(deadline);
        co_await idle_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (in_flight_ > 0) spdlog::warn("outbox: {} writes still running at shutdown", in_flight_);
}

}  // namespace invariantd
