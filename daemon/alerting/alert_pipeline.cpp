#include "daemon/alerting/alert_pipeline.hpp"

#include <spdlog/spdlog.h>

#include "daemon/alerting/receiver_payloads.hpp"
#include "daemon/common/time_format.hpp"

namespace invariantd {

namespace {

double unix_now() {
    return unix_seconds(system_clock::now());
}

state::stored_alert to_stored(const alert_record& record) {
    return {record.dedup_key, to_json(record).dump(), record.version};
}

}  // namespace

alert_pipeline::alert_pipeline(asio::any_io_executor loop, delivery_observer observer)
    : loop_(loop),
      observer_(std::move(observer)),
      tls_(std::make_shared<tls_client_context>()),
      host_name_(local_host_name()),
      writer_(loop),
      repost_timer_(loop) {}

alert_pipeline::~alert_pipeline() {
    stopping_ = true;
    for (auto& [key, queue] : queues_) queue->close();
}

std::size_t alert_pipeline::open(const std::string& state_dir) {
    auto loaded = writer_.open(state_dir);
    std::size_t firing = 0;
    for (const auto& record : loaded.records) firing += record.state == alert_state::firing ? 1 : 0;
    spdlog::info("outbox {}/outbox.db: {} queued notifications, {} firing alerts restored", state_dir,
                 loaded.notifications.size(), firing);
    book_.restore(std::move(loaded.records));
    book_.restore_ledgers(std::move(loaded.ledgers));
    mutes_.restore(std::move(loaded.silences));
    history_ = std::move(loaded.history);
    loaded_ = std::move(loaded.notifications);
    return loaded.recovered;
}

asio::awaitable<void> alert_pipeline::open_shared(std::unique_ptr<state::state_store> store) {
    auto loaded = co_await writer_.open_store(std::move(store));
    shared_results_ = std::move(loaded.results);
    std::size_t firing = 0;
    for (const auto& record : loaded.records) firing += record.state == alert_state::firing ? 1 : 0;
    spdlog::info("cluster: shared state has {} firing alerts; {} queued notifications claimed from departed members",
                 firing, loaded.notifications.size());
    book_.restore(std::move(loaded.records));
    book_.restore_ledgers(std::move(loaded.ledgers));
    mutes_.restore(std::move(loaded.silences));
    history_ = std::move(loaded.history);
    loaded_ = std::move(loaded.notifications);
}

void alert_pipeline::set_cluster_gates(std::function<bool(const check_instance&)> owns, std::function<bool()> may_send) {
    owns_ = std::move(owns);
    may_send_ = std::move(may_send);
}

asio::awaitable<void> alert_pipeline::adopt(std::set<check_instance> instances) {
    // Named, not a temporary in the co_await expression (the g++ 12 bug in daemon/README.md).
    outbox_writer::read_parts parts{.alerts = true, .ledgers = true};
    auto loaded = co_await writer_.read(std::move(parts));
    for (const auto& instance : instances) {
        std::optional<offender_ledger> ledger;
        if (auto it = loaded.ledgers.find(instance); it != loaded.ledgers.end()) ledger = std::move(it->second);
        book_.adopt(instance, loaded.records, std::move(ledger));
    }
}

asio::awaitable<std::vector<state::stored_result>> alert_pipeline::sweep(std::string results_after) {
    if (!stale_.empty()) {
        const auto stale = stale_;
        co_await adopt(stale);
        for (const auto& instance : stale) stale_.erase(instance);
    }
    outbox_writer::read_parts parts{
        .alerts = true, .silences = true, .claims = true, .results = true, .results_after = std::move(results_after)};
    auto loaded = co_await writer_.read(std::move(parts));
    if (stopping_) co_return loaded.results;
    if (owns_) book_.mirror(loaded.records, owns_);
    if (!loaded.notifications.empty())
        spdlog::info("cluster: took over {} queued notifications from departed members", loaded.notifications.size());
    queue_stored(std::move(loaded.notifications));
    mutes_.restore(std::move(loaded.silences));
    refresh_mutes(system_clock::now());
    co_return loaded.results;
}


void alert_pipeline::release_claims() {
    std::size_t released = 0;
    for (auto& [key, queue] : queues_) released += queue->release_stored();
    if (released > 0) spdlog::warn("cluster: let go of {} queued notifications claimed under the old epoch", released);
    publish_queue_lengths();
}

void alert_pipeline::drop(const std::string& receiver, const std::string& what, std::int64_t id,
                          std::vector<std::int64_t>& ids) {
    spdlog::error("dropping {} for receiver '{}': the receiver is no longer configured", what, receiver);
    if (observer_.count) observer_.count(receiver, delivery_outcome::dropped);
    if (id != 0) ids.push_back(id);
}

void alert_pipeline::configure(const std::vector<config::receiver_config>& receivers) {
    receivers_.clear();
    std::set<destination_key> wanted;
    for (const auto& receiver : receivers) {
        receivers_[receiver.name] = receiver;
        for (std::size_t i = 0; i < receiver.urls.size(); ++i) wanted.insert({receiver.name, i});
    }
    std::vector<std::int64_t> dropped_ids;
    for (auto it = queues_.begin(); it != queues_.end();) {
        if (wanted.contains(it->first)) {
            ++it;
            continue;
        }
        for (const auto& item : it->second->close())
            drop(item->receiver,
                 fmt::format("notification {} {}", to_string(item->event.action), item->event.dedup_key),
                 item->id, dropped_ids);
        if (observer_.queue_length) observer_.queue_length(it->first.first, 0);
        it = queues_.erase(it);
    }
    delivery_queue::surroundings context{loop_,
                                         tls_,
                                         [this](const std::string& name) -> const config::receiver_config* {
                                             auto it = receivers_.find(name);
                                             return it == receivers_.end() ? nullptr : &it->second;
                                         },
                                         &writer_,
                                         &observer_,
                                         [this] { publish_queue_lengths(); },
                                         host_name_,
                                         may_send_};
    for (const auto& key : wanted) {
        if (queues_.contains(key)) continue;
        auto queue = std::make_shared<delivery_queue>(context, key.first, key.second);
        queues_.emplace(key, queue);
        queue->start();
    }
    if (!dropped_ids.empty()) {
        writer_.spawn_write(
            [ids = std::move(dropped_ids)](state::state_store& store) { return store.remove_notifications(ids); },
            "cannot remove dropped notifications");
    }
    // Notifications restored from the outbox join their queue in their order.
    queue_stored(std::exchange(loaded_, {}));
    if (!started_) {
        started_ = true;
        asio::co_spawn(loop_, repost_loop(), log_escaped_exception{"alertmanager resend"});
    }
    publish_queue_lengths();
}

void alert_pipeline::queue_stored(std::vector<state::stored_notification> rows) {
    std::set<std::int64_t> queued;
    for (const auto& [key, queue] : queues_)
        for (const auto& item : queue->items()) queued.insert(item->id);
    std::vector<std::int64_t> dropped_ids;
    for (auto& row : rows) {
        if (queued.contains(row.id)) continue;
        auto it = queues_.find({row.receiver, row.destination});
        if (it == queues_.end()) {
            drop(row.receiver, fmt::format("stored notification {} {}", row.action, row.dedup_key), row.id,
                 dropped_ids);
            continue;
        }
        auto item = std::make_shared<queued_notification>();
        try {
            item->event = event_from_json(nlohmann::json::parse(row.event_json));
        } catch (const std::exception&) {
            spdlog::error("dropping stored notification {}: unreadable", row.id);
            dropped_ids.push_back(row.id);
            continue;
        }
        item->id = row.id;
        item->receiver = row.receiver;
        item->destination = row.destination;
        item->committed = true;
        it->second->push(std::move(item));
    }
    if (!dropped_ids.empty()) {
        writer_.spawn_write(
            [ids = std::move(dropped_ids)](state::state_store& store) { return store.remove_notifications(ids); },
            "cannot remove dropped notifications");
    }
    publish_queue_lengths();
}

std::size_t alert_pipeline::observe(const config::check_config& check, const check_instance& instance,
                                    const run_observation& run) {
    if (stopping_ || stale_.contains(instance)) return 0;
    // Timed for the ledger benchmark (tests/bench/modules_at_scale.sh): the loop's share of
    // a run's offender work, which grows with the number of keys.
    const auto started = steady_clock::now();
    const bool muted = covers_.contains(instance.name());
    auto update = book_.observe(check, instance, run, system_clock::now(), muted);
    const auto cleared = update.offenders_cleared;
    const bool ledger_changed = !update.ledgers_changed.empty();
    // Cluster mode: the ledger goes to the coordination database with the run's history
    // point (record_history, which follows every observe), one statement per run.
    defer_ledgers_ = static_cast<bool>(owns_);
    apply(std::move(update));
    defer_ledgers_ = false;
    if (ledger_changed && spdlog::should_log(spdlog::level::debug)) {
        const auto* ledger = book_.ledger(instance);
        spdlog::debug("offender ledger of {}: {} tracked, {} new, {} cleared; {:.2f} ms on the loop",
                      instance.name(), ledger ? ledger->offenders().size() : 0,
                      ledger ? ledger->new_count() : 0, cleared,
                      std::chrono::duration<double, std::milli>(steady_clock::now() - started).count());
    }
    return cleared;
}

void alert_pipeline::configure_checks(const std::vector<config::check_config>& checks,
                                      std::vector<config::maintenance_window> windows) {
    checks_.clear();
    for (const auto& check : checks) checks_.emplace(check.name, check);
    mutes_.set_windows(std::move(windows));
    refresh_mutes(system_clock::now());
}

silence alert_pipeline::add_silence(silence entry) {
    entry.id = new_silence_id();
    writer_.spawn_write([id = entry.id, document = to_json(entry, entry.starts_at).dump()](
                            state::state_store& store) { return store.write_silence(id, document); },
                        "cannot store silence " + entry.id);
    spdlog::info("silence {} by {} until {} for {}: {}", entry.id, entry.created_by,
                 format_rfc3339(entry.ends_at), nlohmann::json(entry.checks).dump(), entry.comment);
    mutes_.add(entry);
    refresh_mutes(system_clock::now());
    return entry;
}

std::optional<silence> alert_pipeline::expire_silence(const std::string& id) {
    const auto now = system_clock::now();
    auto ended = mutes_.expire(id, now);
    if (!ended) return std::nullopt;
    writer_.spawn_write([id, document = to_json(*ended, now).dump()](
                            state::state_store& store) { return store.write_silence(id, document); },
                        "cannot store silence " + id);
    spdlog::info("silence {} ended", id);
    refresh_mutes(now);
    return ended;
}

void alert_pipeline::record_history(const check_instance& instance, history_point point, std::string result_document) {
    if (stopping_) return;
    history_.add(instance.name(), point);
    state::stored_history_point stored{instance.name(), unix_seconds(point.time), point.value,
                                       to_string(point.outcome)};
    std::optional<state::stored_ledger> ledger;
    if (auto pending = pending_ledgers_.find(instance); pending != pending_ledgers_.end()) {
        ledger = std::move(pending->second);
        pending_ledgers_.erase(pending);
    }
    writer_.spawn_write(
        [stored = std::move(stored), document = std::move(result_document),
         ledger = std::move(ledger)](state::state_store& store) {
            return store.record_run(stored, run_history::kept, document, ledger);
        },
        "cannot store the history of " + instance.name());
}

const mute_cover* alert_pipeline::cover(const std::string& check) const {
    auto it = covers_.find(check);
    return it == covers_.end() ? nullptr : &it->second;
}

void alert_pipeline::refresh_mutes(system_clock::time_point now) {
    if (stopping_) return;
    covers_.clear();
    window_spans_ = mutes_.window_spans(now);  // once, not once per check: zone arithmetic
    // Per instance: a glob may name a database set's member ("missing_server/tenant_*"), and
    // one naming the check covers all of its members (mute_schedule matches both).
    for (const auto& instance : instances_) {
        if (!checks_.contains(instance.check())) continue;
        if (auto found = mutes_.cover_of(instance.name(), now, window_spans_))
            covers_.emplace(instance.name(), std::move(*found));
    }
    for (auto it = held_.begin(); it != held_.end();) {
        if (covers_.contains(*it)) {
            ++it;
            continue;
        }
        // The cover ended: every receiver is brought to the alert's current state.
        const auto instance = check_instance::from_name(*it);
        if (auto check = checks_.find(instance.check()); check != checks_.end() && owned(instance)) {
            spdlog::info("check '{}' is no longer silenced", *it);
            apply(book_.release(check->second, instance, now));
        }
        it = held_.erase(it);
    }
    for (const auto& [name, found] : covers_)
        if (held_.insert(name).second)
            spdlog::info("check '{}' silenced until {}: {}", name, format_rfc3339(found.until), found.reason);
    next_mute_change_ = mutes_.next_change(now);
    if (auto old = mutes_.forget_old(now); !old.empty())
        writer_.spawn_write([old = std::move(old)](state::state_store& store) { return store.forget_silences(old); },
                            "cannot forget old silences");
}

void alert_pipeline::retain(const std::set<check_instance>& configured) {
    if (stopping_) return;
    instances_ = configured;
    refresh_mutes(system_clock::now());
    std::vector<std::string> removed;
    for (const auto& [name, points] : history_.all())
        if (!configured.contains(check_instance::from_name(name))) removed.push_back(name);
    for (const auto& name : removed) history_.forget(name);
    if (!removed.empty())
        writer_.spawn_write([removed](state::state_store& store) { return store.forget_history(removed); },
                            "cannot forget the history of removed checks");
    apply(book_.retain(configured, system_clock::now()));
}

void alert_pipeline::apply(book_update update) {
    if (update.empty()) return;
    std::vector<std::shared_ptr<queued_notification>> items;
    for (const auto& note : update.notifications) {
        const auto& event = note.event;
        const auto level = event.resolve()                  ? spdlog::level::info
                           : note.kind == alert_kind::error ? spdlog::level::err
                                                            : spdlog::level::warn;
        spdlog::log(level, "alert {} {}: {}", event.dedup_key, event.resolve() ? "resolved" : "firing",
                    event.summary);
        auto queued = enqueue(event, note.receivers, true);
        items.insert(items.end(), queued.begin(), queued.end());
    }
    for (const auto& key : update.forgotten) reposter_.forget(key);
    for (const auto& instance : update.ledgers_changed) {
        const auto* ledger = book_.ledger(instance);
        if (ledger == nullptr) continue;
        state::stored_ledger stored{instance.name(),
                                    ledger->definition(),
                                    ledger->last_seen() ? unix_seconds(*ledger->last_seen()) : 0.0,
                                    ledger->truncated(),
                                    {},
                                    {}};
        for (const auto& entry : ledger->offenders())
            stored.offenders.push_back({entry.key, unix_seconds(entry.first_seen), entry.is_new});
        for (const auto& entry : ledger->recently_cleared())
            stored.recently_cleared.push_back(
                {entry.key, unix_seconds(entry.first_seen), unix_seconds(entry.cleared_at)});
        if (defer_ledgers_) {
            pending_ledgers_.insert_or_assign(instance, std::move(stored));
            continue;
        }
        writer_.spawn_write(
            [stored = std::move(stored)](state::state_store& store) { return store.write_ledger(stored); },
            "cannot store the offender ledger of " + instance.name());
    }
    if (!update.ledgers_forgotten.empty()) {
        std::vector<std::string> names;
        for (const auto& instance : update.ledgers_forgotten) names.push_back(instance.name());
        writer_.spawn_write(
            [names = std::move(names)](state::state_store& store) { return store.forget_ledgers(names); },
            "cannot forget the offender ledgers of removed checks");
    }
    if (!update.forgotten.empty()) {
        writer_.spawn_write(
            [keys = std::move(update.forgotten)](state::state_store& store) { return store.forget_alerts(keys); },
            "cannot forget finished alerts");
    }
    if (update.changed.empty() && items.empty()) return;
    std::vector<state::stored_alert> alerts;
    for (const auto& record : update.changed) alerts.push_back(to_stored(record));
    asio::co_spawn(loop_, commit(std::move(alerts), std::move(items)),
                   log_escaped_exception{"outbox commit"});
}

std::vector<std::shared_ptr<queued_notification>> alert_pipeline::enqueue(
    const alert_event& event, const std::vector<std::string>& receivers, bool durable) {
    std::vector<std::shared_ptr<queued_notification>> out;
    const auto steady_now = steady_clock::now();
    for (const auto& name : receivers) {
        auto receiver = receivers_.find(name);
        if (receiver == receivers_.end()) continue;  // the loader guarantees it; a removed one cannot take it
        for (std::size_t i = 0; i < receiver->second.urls.size(); ++i) {
            auto queue = queues_.find({name, i});
            if (queue == queues_.end()) continue;
            auto item = std::make_shared<queued_notification>();
            item->receiver = name;
            item->destination = i;
            item->event = event;
            item->committed = !durable;
            queue->second->push(item);
            out.push_back(std::move(item));
        }
        reposter_.posted(event.dedup_key, name, steady_now);
    }
    publish_queue_lengths();
    return out;
}

asio::awaitable<void> alert_pipeline::commit(std::vector<state::stored_alert> alerts,
                                             std::vector<std::shared_ptr<queued_notification>> items) {
    std::vector<state::stored_notification> rows;
    const double now = unix_now();
    for (const auto& item : items) {
        state::stored_notification row;
        row.receiver = item->receiver;
        row.destination = item->destination;
        row.dedup_key = item->event.dedup_key;
        row.action = to_string(item->event.action);
        row.event_json = to_json(item->event).dump();
        row.enqueued_at = now;
        row.claim_until = std::numeric_limits<double>::max();
        rows.push_back(std::move(row));
    }
    std::set<check_instance> refused;
    try {
        const auto ids = co_await writer_.commit(alerts, std::move(rows));
        for (std::size_t i = 0; i < items.size() && i < ids.size(); ++i) items[i]->id = ids[i];
    } catch (const std::exception& e) {
        if (owns_) {
            // Cluster mode: refused (fenced_write: this member lost its lease; version_conflict:
            // another member changed the alert) or not committed at all (a notification no
            // other member knows of, from a member that may be cut off). Sending could page
            // twice, so the notifications are withdrawn and the book reads the stored state
            // again; the owner's next run decides.
            spdlog::warn("cluster: {} notifications withdrawn: {}", items.size(), e.what());
            for (auto& item : items) item->cancelled = true;
            for (const auto& alert : alerts)
                if (const auto* record = book_.find(alert.dedup_key)) refused.insert(record->instance);
        } else {
            // Better delivered without durability than not at all; the log says what is at risk.
            spdlog::error(
                "outbox: cannot commit {} notifications ({}); sending them anyway, but they will not survive a "
                "restart",
                items.size(), e.what());
        }
    }
    for (auto& item : items) item->committed = true;
    for (auto& [key, queue] : queues_) queue->wake();
    if (!refused.empty()) {
        // Until the stored state is read again the book's copy is not to be trusted: those
        // instances' runs do not move their alerts (sweep() retries the read).
        stale_.insert(refused.begin(), refused.end());
        try {
            co_await adopt(refused);
            for (const auto& instance : refused) stale_.erase(instance);
        } catch (const std::exception& e) {
            spdlog::error("cluster: cannot re-read the shared alert state: {}", e.what());
        }
    }
}

asio::awaitable<void> alert_pipeline::repost_loop() {
    boost::system::error_code ec;
    while (!stopping_) {
        repost_timer_.expires_after(std::chrono::seconds(1));
        co_await repost_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) break;
        repost_and_clean();
    }
}

std::set<std::string> alert_pipeline::queued_keys() const {
    std::set<std::string> keys;
    for (const auto& [key, queue] : queues_)
        for (const auto& item : queue->items()) keys.insert(item->event.dedup_key);
    return keys;
}

void alert_pipeline::repost_and_clean() {
    const auto now = system_clock::now();
    if (next_mute_change_ && now >= *next_mute_change_) refresh_mutes(now);
    const auto queued = queued_keys();
    apply(book_.forget_finished(now, alertmanager_reposter::keep_resolved(receivers_), queued));
    for (const auto& repost : reposter_.due(book_, receivers_, queued, held_, now, steady_clock::now())) {
        // Cluster mode: the owner re-posts; the others' copies of the record may be stale.
        const auto* record = book_.find(repost.event.dedup_key);
        if (record != nullptr && !owned(record->instance)) continue;
        enqueue(repost.event, {repost.receiver}, false);
    }
}

void alert_pipeline::publish_queue_lengths() {
    if (!observer_.queue_length) return;
    std::map<std::string, std::size_t> lengths;
    for (const auto& [name, receiver] : receivers_) lengths[name] = 0;
    for (const auto& [key, queue] : queues_) lengths[queue->receiver()] += queue->items().size();
    for (const auto& [name, length] : lengths) observer_.queue_length(name, length);
}

nlohmann::ordered_json alert_pipeline::queued_json(const std::string& dedup_key) const {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    const auto steady_now = steady_clock::now();
    const auto now = system_clock::now();
    for (const auto& [key, queue] : queues_) {
        const auto count =
            receivers_.contains(queue->receiver()) ? receivers_.at(queue->receiver()).urls.size() : 1;
        for (const auto& item : queue->items()) {
            if (item->event.dedup_key != dedup_key) continue;
            nlohmann::ordered_json entry{{"receiver", queue->receiver()},
                                         {"action", to_string(item->event.action)},
                                         {"attempts", item->failures},
                                         {"durable", item->committed && item->id != 0}};
            if (count > 1) entry["url_index"] = queue->index();
            if (item->failures > 0) {
                entry["last_error"] = item->last_error;
                const auto wait = item->next_attempt > steady_now ? item->next_attempt - steady_now
                                                                  : steady_clock::duration{};
                entry["next_attempt"] =
                    format_rfc3339(now + std::chrono::duration_cast<system_clock::duration>(wait));
            }
            out.push_back(std::move(entry));
        }
    }
    return out;
}

asio::awaitable<void> alert_pipeline::stop() {
    stopping_ = true;
    repost_timer_.cancel();
    for (auto& [key, queue] : queues_) queue->close();
    co_await writer_.drain(steady_clock::now() + std::chrono::seconds(10));
}

}  // namespace invariantd
