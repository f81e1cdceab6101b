#include "daemon/alerting/outbox_writer.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "daemon/db/run_blocking.hpp"
#include "daemon/state/sqlite_state_store.hpp"

namespace invariantd {

namespace {

system_clock::time_point from_unix(double seconds) {
    return system_clock::time_point(
        std::chrono::duration_cast<system_clock::duration>(std::chrono::duration<double>(seconds)));
}

/// Reads `parts` of `store` into their loaded form (any thread; the store's caller's).
outbox_writer::loaded_state load(state::state_store& store, const outbox_writer::read_parts& parts) {
    outbox_writer::loaded_state out;
    if (parts.ledgers) for (auto& stored : store.load_ledgers()) {
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
    if (parts.history) for (const auto& point : store.load_history(run_history::kept)) {
        const auto outcome = parse_run_outcome(point.outcome);
        if (!outcome) continue;
        out.history.add(point.instance, {from_unix(point.time), point.value, *outcome});
    }
    if (parts.silences) for (const auto& document : store.load_silences()) {
        try {
            out.silences.push_back(silence_from_json(nlohmann::json::parse(document)));
        } catch (const std::exception& e) {
            spdlog::error("outbox: a stored silence is unreadable ({}); ignoring it", e.what());
        }
    }
    if (parts.alerts) for (const auto& row : store.load_alerts()) {
        try {
            auto record = record_from_json(nlohmann::json::parse(row.record_json));
            record.dedup_key = row.dedup_key;
            record.version = row.version;
            out.records.push_back(std::move(record));
        } catch (const std::exception& e) {
            spdlog::error("outbox: alert record {} is unreadable ({}); ignoring it", row.dedup_key, e.what());
        }
    }
    if (parts.results) out.results = store.load_results(parts.results_after);
    if (parts.claims) out.notifications = store.claim_notifications(std::numeric_limits<double>::max());
    return out;
}

}  // namespace

outbox_writer::outbox_writer(asio::any_io_executor loop) : loop_(loop), idle_(loop) {}

outbox_writer::~outbox_writer() {
    worker_.join();
}

outbox_writer::loaded_state outbox_writer::open(const std::string& state_dir) {
    const auto path = (std::filesystem::path(state_dir) / "outbox.db").string();
    auto store = std::make_unique<state::sqlite_state_store>(path);
    loaded_state loaded;
    const std::pair<const state::opened_state_file*, std::string> files[] = {
        {&store->opened(), path},
        {&store->ledger_opened(), store->ledger_path()},
        {&store->history_opened(), store->history_path()}};
    for (const auto& [opened, file] : files) {
        if (!opened->recovered) continue;
        ++loaded.recovered;
        spdlog::error("state file {} was damaged ({}); set it aside as {} and started with an empty one",
                      file, opened->damage, opened->set_aside_as);
    }
    const auto& opened = store->opened();
    if (!opened.recovered && opened.from_version < state::sqlite_state_store::schema_version)
        spdlog::info("state file {}: schema migrated from version {} to {}", path, opened.from_version,
                     state::sqlite_state_store::schema_version);
    auto parts = load(*store, {.alerts = true, .ledgers = true, .silences = true, .history = true});
    parts.recovered = loaded.recovered;
    loaded = std::move(parts);
    // A claim lasts until the next start: this writer is the file's only one.
    loaded.notifications = store->claim_notifications(std::numeric_limits<double>::max());
    store_ = std::move(store);
    return loaded;
}

outbox_writer::loaded_state outbox_writer::open_store(std::unique_ptr<state::state_store> store) {
    auto loaded = load(*store, {.alerts = true, .ledgers = true, .silences = true, .history = true, .claims = true,
                                .results = true});
    store_ = std::move(store);
    return loaded;
}

asio::awaitable<outbox_writer::loaded_state> outbox_writer::read(read_parts parts) {
    ++in_flight_;
    auto* store = store_.get();
    auto job = [store, parts]() {
        if (!store) return loaded_state{};
        return load(*store, parts);
    };
    std::exception_ptr failure;
    loaded_state loaded;
    try {
        loaded = co_await run_blocking(worker_.get_executor(), std::move(job));
    } catch (...) {
        failure = std::current_exception();
    }
    finished();
    if (failure) std::rethrow_exception(failure);
    co_return loaded;
}

asio::awaitable<std::vector<std::int64_t>> outbox_writer::commit(
    std::vector<state::stored_alert> alerts, std::vector<state::stored_notification> notifications) {
    ++in_flight_;
    auto* store = store_.get();
    auto job = [store, alerts = std::move(alerts), rows = std::move(notifications)]() mutable {
        std::vector<std::int64_t> ids;
        if (!store) return ids;
        store->commit(alerts, rows);
        for (const auto& row : rows) ids.push_back(row.id);
        return ids;
    };
    std::exception_ptr failure;
    std::vector<std::int64_t> ids;
    try {
        ids = co_await run_blocking(worker_.get_executor(), std::move(job));
    } catch (...) {
        failure = std::current_exception();
    }
    finished();
    if (failure) std::rethrow_exception(failure);
    co_return ids;
}

asio::awaitable<void> outbox_writer::write(std::function<void(state::state_store&)> write,
                                           std::string failure) {
    ++in_flight_;
    auto* store = store_.get();
    auto job = [store, write = std::move(write)]() {
        if (store) write(*store);
        return true;
    };
    try {
        co_await run_blocking(worker_.get_executor(), std::move(job));
    } catch (const std::exception& e) {
        spdlog::error("outbox: {} ({})", failure, e.what());
    }
    finished();
}

void outbox_writer::spawn_write(std::function<void(state::state_store&)> write, std::string failure) {
    asio::co_spawn(loop_, this->write(std::move(write), std::move(failure)),
                   log_escaped_exception{"outbox write"});
}

void outbox_writer::finished() {
    if (--in_flight_ == 0) idle_.cancel();
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
