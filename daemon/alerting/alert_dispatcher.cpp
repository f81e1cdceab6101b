#include "daemon/alerting/alert_dispatcher.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "daemon/alerting/delivery_policy.hpp"
#include "daemon/alerting/receiver_payloads.hpp"
#include "daemon/alerting/summary_template.hpp"
#include "daemon/common/time_format.hpp"
#include "daemon/db/run_blocking.hpp"

namespace invariantd {

namespace {

nlohmann::ordered_json time_json(const std::optional<system_clock::time_point>& when) {
    if (!when) return nullptr;
    return std::chrono::duration_cast<std::chrono::milliseconds>(when->time_since_epoch()).count();
}

std::optional<system_clock::time_point> time_from(const nlohmann::json& json, const char* key) {
    auto it = json.find(key);
    if (it == json.end() || !it->is_number_integer()) return std::nullopt;
    return system_clock::time_point(std::chrono::milliseconds(it->get<std::int64_t>()));
}

alert_state state_from(const std::string& name) {
    if (name == "pending") return alert_state::pending;
    if (name == "firing") return alert_state::firing;
    return alert_state::ok;
}

std::string join_url(const std::string& base, const std::string& suffix) {
    if (suffix.empty()) return base;
    std::string out = base;
    while (!out.empty() && out.back() == '/') out.pop_back();
    return out + suffix;
}

std::string label(const std::string& receiver, std::size_t index, std::size_t count) {
    return count > 1 ? fmt::format("receiver '{}' (url {} of {})", receiver, index + 1, count)
                     : fmt::format("receiver '{}'", receiver);
}

double unix_now() { return unix_seconds(system_clock::now()); }

}  // namespace

nlohmann::ordered_json to_json(const alert_record& record) {
    return {{"dedup_key", record.dedup_key},         {"check", record.check},
            {"error_alert", record.error_alert},     {"state", to_string(record.state)},
            {"active_since", time_json(record.active_since)}, {"last_sent", time_json(record.last_sent)},
            {"resolved_at", time_json(record.resolved_at)},   {"receivers", record.receivers},
            {"last_event", record.last_event}};
}

alert_record record_from_json(const nlohmann::json& json) {
    alert_record record;
    record.dedup_key = json.value("dedup_key", "");
    record.check = json.value("check", "");
    record.error_alert = json.value("error_alert", false);
    record.state = state_from(json.value("state", "ok"));
    record.active_since = time_from(json, "active_since");
    record.last_sent = time_from(json, "last_sent");
    record.resolved_at = time_from(json, "resolved_at");
    if (auto it = json.find("receivers"); it != json.end() && it->is_array())
        for (const auto& name : *it)
            if (name.is_string()) record.receivers.push_back(name.get<std::string>());
    if (auto it = json.find("last_event"); it != json.end() && it->is_object())
        record.last_event = nlohmann::ordered_json::parse(it->dump());
    return record;
}

alert_action next_action(alert_state notified, std::optional<system_clock::time_point> last_sent,
                         alert_state now_state, system_clock::time_point now, duration repeat_interval) {
    if (now_state == alert_state::firing) {
        if (notified != alert_state::firing || !last_sent || now - *last_sent >= repeat_interval)
            return alert_action::trigger;
        return alert_action::none;
    }
    return notified == alert_state::firing ? alert_action::resolve : alert_action::none;
}

alert_dispatcher::alert_dispatcher(asio::any_io_executor loop, delivery_observer observer)
    : loop_(loop),
      observer_(std::move(observer)),
      tls_(make_tls_client_context()),
      resend_timer_(loop),
      store_idle_(loop),
      random_(std::random_device{}()),
      host_name_(local_host_name()) {}

alert_dispatcher::~alert_dispatcher() {
    stopping_ = true;
    store_worker_.join();
}

void alert_dispatcher::open(const std::string& state_dir) {
    const auto path = (std::filesystem::path(state_dir) / "outbox.db").string();
    store_ = std::make_unique<outbox_store>(path);
    for (const auto& row : store_->load_alerts()) {
        try {
            auto record = record_from_json(nlohmann::json::parse(row.record_json));
            record.dedup_key = row.dedup_key;
            record.persisted = true;
            records_[row.dedup_key] = std::move(record);
        } catch (const std::exception& e) {
            spdlog::error("outbox: alert record {} is unreadable ({}); ignoring it", row.dedup_key, e.what());
        }
    }
    loaded_ = store_->load_notifications();
    std::size_t firing = 0;
    for (const auto& [key, record] : records_) firing += record.state == alert_state::firing ? 1 : 0;
    spdlog::info("outbox {}: {} queued notifications, {} firing alerts restored", path, loaded_.size(), firing);
}

void alert_dispatcher::configure(const std::vector<config::receiver_config>& receivers) {
    receivers_.clear();
    std::set<destination_key> wanted;
    for (const auto& receiver : receivers) {
        receivers_[receiver.name] = receiver;
        for (std::size_t i = 0; i < receiver.urls.size(); ++i) wanted.insert({receiver.name, i});
    }
    std::vector<std::int64_t> dropped_ids;
    for (auto it = destinations_.begin(); it != destinations_.end();) {
        if (wanted.contains(it->first)) {
            ++it;
            continue;
        }
        auto& target = *it->second;
        for (const auto& item : target.queue) {
            spdlog::error("dropping notification {} {} for receiver '{}': the receiver is no longer configured",
                          item->row.action, item->row.dedup_key, target.receiver);
            if (observer_.count) observer_.count(target.receiver, "dropped");
            if (item->row.id != 0) dropped_ids.push_back(item->row.id);
        }
        target.queue.clear();
        target.removed = true;
        target.wake.cancel();
        target.connection.close();
        if (observer_.queue_length) observer_.queue_length(target.receiver, 0);
        it = destinations_.erase(it);
    }
    for (const auto& key : wanted) {
        if (destinations_.contains(key)) continue;
        auto target = std::make_shared<destination>(loop_, tls_, key.first, key.second);
        destinations_.emplace(key, target);
        asio::co_spawn(loop_, deliver(target), log_escaped_exception{"notification delivery"});
    }
    // Notifications restored from the outbox join their destination's queue in their order.
    for (auto& row : loaded_) {
        auto it = destinations_.find({row.receiver, row.destination});
        if (it == destinations_.end()) {
            spdlog::error("dropping stored notification {} {} for receiver '{}': the receiver is no longer configured",
                          row.action, row.dedup_key, row.receiver);
            if (observer_.count) observer_.count(row.receiver, "dropped");
            dropped_ids.push_back(row.id);
            continue;
        }
        auto item = std::make_shared<queued_notification>();
        try {
            item->event = nlohmann::json::parse(row.event_json);
        } catch (const std::exception&) {
            spdlog::error("dropping stored notification {}: unreadable", row.id);
            dropped_ids.push_back(row.id);
            continue;
        }
        item->row = std::move(row);
        item->committed = true;
        it->second->queue.push_back(item);
        it->second->wake.cancel();
    }
    loaded_.clear();
    if (!dropped_ids.empty()) {
        auto remove = [ids = std::move(dropped_ids)](outbox_store& store) { store.remove(ids); };
        asio::co_spawn(loop_, store_write(std::move(remove), "cannot remove dropped notifications"),
                       log_escaped_exception{"outbox removal"});
    }
    if (!started_) {
        started_ = true;
        asio::co_spawn(loop_, resend_loop(), log_escaped_exception{"alertmanager resend"});
    }
    publish_queue_lengths();
}

std::optional<std::pair<alert_state, system_clock::time_point>> alert_dispatcher::stored_state(
    const std::string& check) const {
    auto it = records_.find(dedup_key_for(check, false));
    if (it == records_.end() || it->second.state == alert_state::ok || !it->second.active_since) return std::nullopt;
    return std::pair{it->second.state, *it->second.active_since};
}

alert_record& alert_dispatcher::record_for(const config::check_config& check, bool error_alert) {
    const auto key = dedup_key_for(check.name, error_alert);
    auto [it, inserted] = records_.try_emplace(key);
    if (inserted) {
        it->second.dedup_key = key;
        it->second.check = check.name;
        it->second.error_alert = error_alert;
    }
    return it->second;
}

stored_alert alert_dispatcher::to_stored(alert_record& record) {
    record.persisted = true;
    return {record.dedup_key, to_json(record).dump()};
}

void alert_dispatcher::observe(const config::check_config& check, const alert_tracker& tracker,
                               const checks::check_result& result, const checks::check_result* last_good,
                               std::size_t consecutive_failures) {
    if (stopping_) return;
    const auto now = system_clock::now();
    const auto stamp = format_rfc3339(now);
    std::vector<stored_alert> changed;
    std::vector<std::shared_ptr<queued_notification>> items;

    const auto value_key = dedup_key_for(check.name, false);
    if (tracker.state() != alert_state::ok || records_.contains(value_key)) {
        auto& record = record_for(check, false);
        bool dirty = record.state != tracker.state() || record.active_since != tracker.active_since();
        const auto action = next_action(record.state, record.last_sent, tracker.state(), now, check.alert.repeat_interval);
        if (action != alert_action::none && last_good) {
            const bool resolve = action == alert_action::resolve;
            const auto since = resolve ? record.active_since : tracker.active_since();
            auto event = make_value_event(check, last_good->output, resolve, since ? format_rfc3339(*since) : stamp, stamp);
            notify(record, event, check.alert.receivers, now, spdlog::level::warn, items);
            dirty = true;
        }
        record.state = tracker.state();
        record.active_since = tracker.active_since();
        if (dirty) changed.push_back(to_stored(record));
    }
    const auto error_key = dedup_key_for(check.name, true);
    if (result.status != checks::run_status::ok || records_.contains(error_key)) {
        auto& record = record_for(check, true);
        alert_state target = record.state;
        if (result.status == checks::run_status::ok) target = alert_state::ok;
        else if (consecutive_failures >= check.alert.error_after) target = alert_state::firing;
        const auto action = next_action(record.state, record.last_sent, target, now, check.alert.repeat_interval);
        bool dirty = target != record.state;
        if (target == alert_state::firing && record.state != alert_state::firing) record.active_since = now;
        if (action != alert_action::none) {
            const bool resolve = action == alert_action::resolve;
            const auto since = record.active_since ? format_rfc3339(*record.active_since) : stamp;
            auto event = make_error_event(check, result.error, consecutive_failures, resolve, since, stamp);
            notify(record, event, check.alert.receivers, now, spdlog::level::err, items);
            dirty = true;
        }
        record.state = target;
        if (target == alert_state::ok) record.active_since.reset();
        if (dirty) changed.push_back(to_stored(record));
    }
    if (!changed.empty() || !items.empty()) persist(std::move(changed), std::move(items));
}

void alert_dispatcher::notify(alert_record& record, const alert_event& event, const std::vector<std::string>& receivers,
                              system_clock::time_point now, spdlog::level::level_enum firing_level,
                              std::vector<std::shared_ptr<queued_notification>>& items) {
    enqueue(event, receivers, true, items);
    record.last_event = to_json(event);
    record.receivers = receivers;
    (event.resolve() ? record.resolved_at : record.last_sent) = now;
    spdlog::log(event.resolve() ? spdlog::level::info : firing_level, "alert {} {}: {}", record.dedup_key,
                event.resolve() ? "resolved" : "firing", event.summary);
}

void alert_dispatcher::retain_checks(const std::set<std::string>& checks) {
    if (stopping_) return;
    const auto now = system_clock::now();
    const auto stamp = format_rfc3339(now);
    std::vector<stored_alert> changed;
    std::vector<std::shared_ptr<queued_notification>> items;
    for (auto& [key, record] : records_) {
        if (checks.contains(record.check) || record.state == alert_state::ok) continue;
        if (record.state == alert_state::firing && record.last_event.is_object()) {
            auto event = event_from_json(record.last_event);
            event.action = "resolve";
            event.ends_at = stamp;
            event.timestamp = stamp;
            event.summary = cut_summary(event.alert_name + " resolved: the check was removed from the configuration");
            enqueue(event, record.receivers, true, items);
            record.last_event = to_json(event);
            record.resolved_at = now;
            spdlog::info("alert {} resolved: check '{}' was removed", key, record.check);
        }
        record.state = alert_state::ok;
        record.active_since.reset();
        changed.push_back(to_stored(record));
    }
    if (!changed.empty() || !items.empty()) persist(std::move(changed), std::move(items));
}

void alert_dispatcher::enqueue(const alert_event& event, const std::vector<std::string>& receivers, bool durable,
                               std::vector<std::shared_ptr<queued_notification>>& out) {
    const auto event_json = to_json(event);
    const auto steady_now = steady_clock::now();
    for (const auto& name : receivers) {
        auto receiver = receivers_.find(name);
        if (receiver == receivers_.end()) continue;  // the loader guarantees it; a removed one cannot take it
        for (std::size_t i = 0; i < receiver->second.urls.size(); ++i) {
            auto target = destinations_.find({name, i});
            if (target == destinations_.end()) continue;
            auto item = std::make_shared<queued_notification>();
            item->row.receiver = name;
            item->row.destination = i;
            item->row.dedup_key = event.dedup_key;
            item->row.action = event.action;
            item->row.event_json = event_json.dump();
            item->row.enqueued_at = unix_now();
            item->event = nlohmann::json::parse(item->row.event_json);
            item->committed = !durable;
            target->second->queue.push_back(item);
            target->second->wake.cancel();
            out.push_back(std::move(item));
        }
        last_resend_[{event.dedup_key, name}] = steady_now;
    }
    publish_queue_lengths();
}

void alert_dispatcher::persist(std::vector<stored_alert> alerts, std::vector<std::shared_ptr<queued_notification>> items) {
    ++store_ops_in_flight_;
    asio::co_spawn(loop_, commit(std::move(alerts), std::move(items)), log_escaped_exception{"outbox commit"});
}

asio::awaitable<void> alert_dispatcher::commit(std::vector<stored_alert> alerts,
                                               std::vector<std::shared_ptr<queued_notification>> items) {
    std::vector<stored_notification> rows;
    for (const auto& item : items)
        if (!item->committed) rows.push_back(item->row);
    auto* store = store_.get();
    auto job = [store, alerts = std::move(alerts), rows = std::move(rows)]() mutable {
        if (store) store->commit(alerts, rows);
        return rows;
    };
    try {
        auto committed = co_await run_blocking(store_worker_.get_executor(), std::move(job));
        std::size_t next = 0;
        for (auto& item : items) {
            if (item->committed) continue;
            item->row.id = committed[next++].id;
            item->committed = true;
        }
    } catch (const std::exception& e) {
        // Better delivered without durability than not at all; the log says what is at risk.
        spdlog::error("outbox: cannot commit {} notifications ({}); sending them anyway, but they will not survive a "
                      "restart",
                      items.size(), e.what());
        for (auto& item : items) item->committed = true;
    }
    for (auto& [key, target] : destinations_) target->wake.cancel();
    finish_store_op();
}

asio::awaitable<void> alert_dispatcher::store_write(std::function<void(outbox_store&)> write, std::string failure) {
    ++store_ops_in_flight_;
    auto* store = store_.get();
    auto job = [store, write = std::move(write)]() {
        if (store) write(*store);
        return true;
    };
    try {
        co_await run_blocking(store_worker_.get_executor(), std::move(job));
    } catch (const std::exception& e) {
        spdlog::error("outbox: {} ({})", failure, e.what());
    }
    finish_store_op();
}

void alert_dispatcher::finish_store_op() {
    if (--store_ops_in_flight_ == 0) store_idle_.cancel();
}

asio::awaitable<void> alert_dispatcher::deliver(std::shared_ptr<destination> target) {
    boost::system::error_code ec;
    while (!stopping_ && !target->removed) {
        auto item = target->queue.empty() ? nullptr : target->queue.front();
        if (!item || !item->committed || steady_clock::now() < item->next_attempt) {
            target->wake.expires_at(item && item->committed ? item->next_attempt : steady_clock::time_point::max());
            co_await target->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        auto receiver_it = receivers_.find(target->receiver);
        if (receiver_it == receivers_.end()) break;  // configure() marks us removed in the same step
        const config::receiver_config receiver = receiver_it->second;
        const auto name = label(receiver.name, target->index, receiver.urls.size());
        const auto event = event_from_json(item->event);
        auto request = build_request(receiver, event, host_name_);
        const auto url =
            target->index < receiver.urls.size() ? parse_url(join_url(receiver.urls[target->index], request.path_suffix))
                                                 : std::nullopt;
        post_outcome outcome;
        if (url) outcome = co_await target->connection.post(*url, request.headers, request.body, receiver.timeout);
        if (stopping_ || target->removed) break;  // still in the outbox: sent again after a restart

        const auto verdict = !url ? delivery_verdict::dropped
                             : outcome.status == 0 ? delivery_verdict::retry
                                                   : classify_status(outcome.status);
        if (verdict == delivery_verdict::retry) {
            ++item->failures;
            const auto retry_after = parse_retry_after(outcome.retry_after, system_clock::now());
            const auto delay = retry_delay(item->failures, retry_after, random_);
            item->next_attempt = steady_clock::now() + delay;
            item->last_error = outcome.status ? fmt::format("HTTP {}", outcome.status) : outcome.error;
            if (observer_.count) observer_.count(receiver.name, "failed");
            spdlog::warn("notification {} {} to {} failed (attempt {}): {}; retrying in {}", event.action,
                         event.dedup_key, name, item->failures, item->last_error, format_duration(delay));
            continue;
        }
        target->queue.pop_front();
        if (verdict == delivery_verdict::sent) {
            if (observer_.count) observer_.count(receiver.name, "sent");
            spdlog::info("notification {} {} delivered to {} (HTTP {})", event.action, event.dedup_key, name,
                         outcome.status);
        } else {
            if (observer_.count) observer_.count(receiver.name, "dropped");
            spdlog::error("notification {} {} dropped: {} refused it with HTTP {}: {}", event.action, event.dedup_key,
                          name, outcome.status, url ? outcome.body_excerpt : std::string("invalid URL"));
        }
        publish_queue_lengths();
        if (item->row.id != 0) {
            // Named, not temporaries in the co_await expression (the g++ 12 bug in daemon/README.md).
            std::function<void(outbox_store&)> remove = [id = item->row.id](outbox_store& store) {
                store.remove({id});
            };
            std::string failure = "cannot remove a finished notification; it may be sent again after a restart";
            co_await store_write(std::move(remove), std::move(failure));
        }
    }
}

asio::awaitable<void> alert_dispatcher::resend_loop() {
    boost::system::error_code ec;
    while (!stopping_) {
        resend_timer_.expires_after(std::chrono::seconds(1));
        co_await resend_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) break;
        resend_due();
    }
}

void alert_dispatcher::resend_due() {
    // Alertmanager forgets alerts that are not re-posted (and everything when it restarts),
    // so firing alerts go again every resend_interval, resolved ones for resend_resolved_for.
    const auto now = system_clock::now();
    const auto steady_now = steady_clock::now();
    std::set<std::string> queued_keys;
    for (const auto& [key, target] : destinations_)
        for (const auto& item : target->queue) queued_keys.insert(item->row.dedup_key);
    duration keep_resolved = std::chrono::minutes(15);
    for (const auto& [name, receiver] : receivers_)
        if (receiver.type == "alertmanager") keep_resolved = std::max(keep_resolved, receiver.resend_resolved_for);

    std::vector<std::shared_ptr<queued_notification>> items;
    std::vector<std::string> forgotten;
    for (auto it = records_.begin(); it != records_.end();) {
        auto& record = it->second;
        const auto since_resolve = record.resolved_at ? std::optional<duration>(std::chrono::duration_cast<duration>(
                                                            now - *record.resolved_at))
                                                      : std::nullopt;
        const std::string last_action = record.last_event.is_object() ? record.last_event.value("action", "") : "";
        const bool firing = record.state == alert_state::firing && last_action == "trigger";
        const bool resolved = record.state != alert_state::firing && last_action == "resolve" && since_resolve;
        if (record.state == alert_state::ok && !queued_keys.contains(record.dedup_key) &&
            (!since_resolve || *since_resolve > keep_resolved)) {
            if (record.persisted) forgotten.push_back(record.dedup_key);
            for (auto r = last_resend_.begin(); r != last_resend_.end();)
                r = r->first.first == record.dedup_key ? last_resend_.erase(r) : std::next(r);
            it = records_.erase(it);
            continue;
        }
        ++it;
        if ((!firing && !resolved) || queued_keys.contains(record.dedup_key)) continue;
        for (const auto& name : record.receivers) {
            auto receiver = receivers_.find(name);
            if (receiver == receivers_.end() || receiver->second.type != "alertmanager") continue;
            if (resolved && *since_resolve > receiver->second.resend_resolved_for) continue;
            auto [last, inserted] = last_resend_.try_emplace({record.dedup_key, name}, steady_now);
            if (inserted || steady_now - last->second < receiver->second.resend_interval) continue;
            enqueue(event_from_json(record.last_event), {name}, false, items);
        }
    }
    if (!forgotten.empty()) {
        auto forget = [keys = std::move(forgotten)](outbox_store& store) { store.forget_alerts(keys); };
        asio::co_spawn(loop_, store_write(std::move(forget), "cannot forget finished alerts"),
                       log_escaped_exception{"outbox cleanup"});
    }
}

void alert_dispatcher::publish_queue_lengths() {
    if (!observer_.queue_length) return;
    std::map<std::string, std::size_t> lengths;
    for (const auto& [name, receiver] : receivers_) lengths[name] = 0;
    for (const auto& [key, target] : destinations_) lengths[target->receiver] += target->queue.size();
    for (const auto& [name, length] : lengths) observer_.queue_length(name, length);
}

std::vector<const alert_record*> alert_dispatcher::active_records() const {
    std::vector<const alert_record*> out;
    for (const auto& [key, record] : records_) {
        if (record.state != alert_state::ok || !queued_json(key).empty()) out.push_back(&record);
    }
    return out;
}

nlohmann::ordered_json alert_dispatcher::queued_json(const std::string& dedup_key) const {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    const auto steady_now = steady_clock::now();
    const auto now = system_clock::now();
    for (const auto& [key, target] : destinations_) {
        const auto count = receivers_.contains(target->receiver) ? receivers_.at(target->receiver).urls.size() : 1;
        for (const auto& item : target->queue) {
            if (item->row.dedup_key != dedup_key) continue;
            nlohmann::ordered_json entry{{"receiver", target->receiver},
                                         {"action", item->row.action},
                                         {"attempts", item->failures},
                                         {"durable", item->committed && item->row.id != 0}};
            if (count > 1) entry["url_index"] = target->index;
            if (item->failures > 0) {
                entry["last_error"] = item->last_error;
                const auto wait = item->next_attempt > steady_now ? item->next_attempt - steady_now : steady_clock::duration{};
                entry["next_attempt"] = format_rfc3339(now + std::chrono::duration_cast<system_clock::duration>(wait));
            }
            out.push_back(std::move(entry));
        }
    }
    return out;
}

std::size_t alert_dispatcher::queued_total() const {
    std::size_t total = 0;
    for (const auto& [key, target] : destinations_) total += target->queue.size();
    return total;
}

asio::awaitable<void> alert_dispatcher::stop() {
    stopping_ = true;
    resend_timer_.cancel();
    for (auto& [key, target] : destinations_) {
        target->wake.cancel();
        target->connection.close();
    }
    boost::system::error_code ec;
    const auto deadline = steady_clock::now() + std::chrono::seconds(10);
    while (store_ops_in_flight_ > 0 && steady_clock::now() < deadline) {
        store_idle_.expires_at(deadline);
        co_await store_idle_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (store_ops_in_flight_ > 0) spdlog::warn("outbox: {} writes still running at shutdown", store_ops_in_flight_);
}

}  // namespace invariantd
