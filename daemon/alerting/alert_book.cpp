#include "daemon/alerting/alert_book.hpp"

#include <algorithm>

#include "checks/registry.hpp"
#include "daemon/alerting/summary_template.hpp"
#include "daemon/common/time_format.hpp"

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

/// The value alert's next state after a successful run (the former alert_tracker).
void advance_value_state(alert_record& record, bool condition_holds, system_clock::time_point at,
                         const config::alert_config& alert) {
    if (!condition_holds) {
        // keep_firing_for: a firing alert stays firing until its condition has been false on
        // every successful run for that long, counted from the first such run.
        if (record.state == alert_state::firing && alert.keep_firing_for > duration(0)) {
            if (!record.false_since) record.false_since = at;
            if (at - *record.false_since < alert.keep_firing_for) return;
        }
        record.state = alert_state::ok;
        record.active_since.reset();
        record.false_since.reset();
        return;
    }
    record.false_since.reset();
    const auto for_duration = alert.for_duration;
    if (record.state == alert_state::ok || !record.active_since) {
        record.state = alert_state::pending;
        record.active_since = at;
    }
    if (record.state == alert_state::pending && at - *record.active_since >= for_duration)
        record.state = alert_state::firing;
}

/// The offenders object of a value event, and its samples reordered new offenders first.
void describe_offenders(alert_event& event, const offender_ledger& ledger, const offender_summary& summary,
                        std::size_t max_keys) {
    nlohmann::ordered_json new_keys = nlohmann::ordered_json::array();
    for (const auto& entry : ledger.offenders())
        if (entry.is_new && new_keys.size() < max_keys) new_keys.push_back(entry.key);
    const auto oldest = ledger.oldest_first_seen();
    event.offenders = {{"new", summary.new_count},
                       {"persisting", summary.persisting},
                       {"cleared", summary.cleared},
                       {"oldest_first_seen", oldest ? nlohmann::ordered_json(format_rfc3339(*oldest))
                                                    : nlohmann::ordered_json(nullptr)},
                       {"new_keys", std::move(new_keys)}};
    auto is_new = [&](const nlohmann::ordered_json& sample) {
        const auto key = sample.find("key");
        if (key == sample.end() || !key->is_string()) return false;
        const auto* entry = ledger.find(key->get<std::string>());
        return entry != nullptr && entry->is_new;
    };
    std::stable_partition(event.samples.begin(), event.samples.end(), is_new);
}

/// The samples as lines a person reads (the module's rendering), each with how long its
/// offender has been wrong.
void render_sample_lines(alert_event& event, const config::check_config& check, const offender_ledger* ledger,
                         system_clock::time_point now) {
    const auto* module = checks::find_module(check.module);
    if (module == nullptr) return;
    const checks::module_args args(check.params);
    for (const auto& sample : event.samples) {
        std::string line = module->sample_line(sample, args);
        const auto key = sample.find("key");
        if (ledger != nullptr && key != sample.end() && key->is_string())
            if (const auto* entry = ledger->find(key->get<std::string>()))
                line +=
                    ", since " + format_age(std::chrono::duration_cast<duration>(now - entry->first_seen));
        event.sample_lines.push_back(std::move(line));
    }
}

}  // namespace

const char* to_string(alert_state state) {
    switch (state) {
        case alert_state::ok:
            return "ok";
        case alert_state::pending:
            return "pending";
        case alert_state::firing:
            return "firing";
    }
    return "ok";
}

nlohmann::ordered_json to_json(const alert_record& record) {
    // "check" holds the instance name and "error_alert" the kind: the layout files written
    // before instances existed use, so both directions stay readable.
    return {{"dedup_key", record.dedup_key},
            {"check", record.instance.name()},
            {"instance_check", record.instance.check()},
            {"instance_member", record.instance.member()},
            {"error_alert", record.kind == alert_kind::error},
            {"state", to_string(record.state)},
            {"active_since", time_json(record.active_since)},
            {"last_sent", time_json(record.last_sent)},
            {"resolved_at", time_json(record.resolved_at)},
            {"receivers", record.receivers},
            {"last_event", record.last_event ? to_json(*record.last_event) : nlohmann::ordered_json(nullptr)},
            {"told_firing", record.told_firing},
            {"false_since", time_json(record.false_since)},
            {"version", record.version}};
}

alert_record record_from_json(const nlohmann::json& json) {
    alert_record record;
    record.dedup_key = json.value("dedup_key", "");
    const std::string member = json.value("instance_member", "");
    record.instance = member.empty()
                          ? check_instance::of(json.value("instance_check", json.value("check", "")))
                          : check_instance::of_member(json.value("instance_check", ""), member);
    record.kind = json.value("error_alert", false) ? alert_kind::error : alert_kind::value;
    record.state = state_from(json.value("state", "ok"));
    record.active_since = time_from(json, "active_since");
    record.last_sent = time_from(json, "last_sent");
    record.resolved_at = time_from(json, "resolved_at");
    if (auto it = json.find("receivers"); it != json.end() && it->is_array())
        for (const auto& name : *it)
            if (name.is_string()) record.receivers.push_back(name.get<std::string>());
    if (auto it = json.find("last_event"); it != json.end() && it->is_object())
        record.last_event = event_from_json(*it);
    if (auto it = json.find("told_firing"); it != json.end() && it->is_array()) {
        for (const auto& name : *it)
            if (name.is_string()) record.told_firing.insert(name.get<std::string>());
    } else if (record.state == alert_state::firing) {
        // Written before silences: firing meant a trigger went to the last event's receivers.
        record.told_firing.insert(record.receivers.begin(), record.receivers.end());
    }
    record.false_since = time_from(json, "false_since");
    if (auto it = json.find("version"); it != json.end() && it->is_number_unsigned())
        record.version = it->get<std::uint64_t>();
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

void alert_book::restore(std::vector<alert_record> records) {
    for (auto& record : records) {
        auto key = record.dedup_key;
        records_[key] = std::move(record);
    }
}

void alert_book::adopt(const check_instance& instance, const std::vector<alert_record>& records,
                       std::optional<offender_ledger> ledger) {
    std::erase_if(records_, [&](const auto& entry) { return entry.second.instance == instance; });
    for (const auto& record : records)
        if (record.instance == instance) records_[record.dedup_key] = record;
    if (ledger) ledgers_.insert_or_assign(instance, std::move(*ledger));
    else ledgers_.erase(instance);
}

void alert_book::mirror(const std::vector<alert_record>& records,
                        const std::function<bool(const check_instance&)>& owned) {
    std::erase_if(records_, [&](const auto& entry) { return !owned(entry.second.instance); });
    for (const auto& record : records)
        if (!owned(record.instance)) records_[record.dedup_key] = record;
}

alert_record& alert_book::record_for(const check_instance& instance, alert_kind kind) {
    const auto key = dedup_key_for(instance, kind);
    auto [it, inserted] = records_.try_emplace(key);
    if (inserted) {
        it->second.dedup_key = key;
        it->second.instance = instance;
        it->second.kind = kind;
    }
    return it->second;
}

void alert_book::changed(alert_record& record, book_update& update) {
    ++record.version;
    update.changed.push_back(record);
}

void alert_book::queue(alert_record& record, alert_event event, const std::vector<std::string>& receivers,
                       system_clock::time_point now, book_update& update) {
    (event.resolve() ? record.resolved_at : record.last_sent) = now;
    record.receivers = receivers;
    record.last_event = event;
    if (event.resolve()) {
        for (const auto& receiver : receivers) record.told_firing.erase(receiver);
    } else {
        record.told_firing.insert(receivers.begin(), receivers.end());
    }
    update.notifications.push_back({std::move(event), receivers, record.kind});
}

void alert_book::queue_or_hold(alert_record& record, alert_event event,
                               const std::vector<std::string>& receivers, system_clock::time_point now,
                               bool muted, book_update& update) {
    if (muted)
        record.last_event = std::move(event);
    else
        queue(record, std::move(event), receivers, now, update);
}

book_update alert_book::release(const config::check_config& check, const check_instance& instance,
                                system_clock::time_point now) {
    book_update update;
    const auto stamp = format_rfc3339(now);
    for (const auto kind : {alert_kind::value, alert_kind::error}) {
        auto it = records_.find(dedup_key_for(instance, kind));
        if (it == records_.end() || !it->second.last_event) continue;
        auto& record = it->second;
        std::vector<std::string> to_tell;
        if (record.state == alert_state::firing) {
            for (const auto& receiver : check.alert.receivers)
                if (!record.told_firing.contains(receiver)) to_tell.push_back(receiver);
        } else {
            // Configured receivers in their order, then any told before a reload removed them.
            for (const auto& receiver : check.alert.receivers)
                if (record.told_firing.contains(receiver)) to_tell.push_back(receiver);
            for (const auto& receiver : record.told_firing)
                if (std::find(to_tell.begin(), to_tell.end(), receiver) == to_tell.end())
                    to_tell.push_back(receiver);
        }
        if (to_tell.empty()) continue;
        auto event = *record.last_event;
        event.timestamp = stamp;
        if (record.state == alert_state::firing) {
            event.action = notify_action::trigger;
        } else if (!event.resolve()) {
            event.action = notify_action::resolve;
            event.ends_at = stamp;
        }
        queue(record, std::move(event), to_tell, now, update);
        // Alertmanager re-posts go to every configured receiver again, not only those told now.
        if (record.state == alert_state::firing) record.receivers = check.alert.receivers;
        changed(record, update);
    }
    return update;
}

book_update alert_book::observe(const config::check_config& check, const check_instance& instance,
                                const run_observation& run, system_clock::time_point now, bool muted) {
    book_update update;
    const auto stamp = format_rfc3339(now);
    const bool ran = succeeded(run.outcome);
    const auto& receivers = check.alert.receivers;

    if (ran && run.last_good) {
        // The ledger moves on successful runs only: a failed run changes nothing.
        auto definition = definition_of(check);
        auto it = ledgers_.find(instance);
        if (it == ledgers_.end() || it->second.definition() != definition)
            it = ledgers_.insert_or_assign(instance, offender_ledger(std::move(definition))).first;
        update.offenders_cleared =
            it->second.apply(run.last_good->offenders, run.last_good->offenders_truncated, now);
        update.ledgers_changed.push_back(instance);
    }

    const auto value_key = dedup_key_for(instance, alert_kind::value);
    if (run.outcome == run_outcome::violation || records_.contains(value_key)) {
        auto& record = record_for(instance, alert_kind::value);
        const auto before_state = record.state;
        const auto before_since = record.active_since;
        const auto before_false_since = record.false_since;
        if (ran) advance_value_state(record, run.outcome == run_outcome::violation, run.started, check.alert);
        bool dirty = record.state != before_state || record.active_since != before_since ||
                     record.false_since != before_false_since;
        auto action =
            next_action(before_state, record.last_sent, record.state, now, check.alert.repeat_interval);
        const auto* offenders = ledger(instance);
        // notify_on_new: a firing alert whose run found new offenders pages again at once.
        if (action == alert_action::none && check.alert.notify_on_new && ran &&
            before_state == alert_state::firing && record.state == alert_state::firing &&
            offenders != nullptr && offenders->new_count() > 0)
            action = alert_action::trigger;
        // Silenced and firing: keep the held event current, so the end of the silence sends
        // what the last run found.
        if (action == alert_action::none && muted && ran && record.state == alert_state::firing)
            action = alert_action::trigger;
        if (action != alert_action::none && run.last_good) {
            const auto notify =
                action == alert_action::resolve ? notify_action::resolve : notify_action::trigger;
            const auto since = notify == notify_action::resolve ? before_since : record.active_since;
            offender_summary summary;
            if (offenders != nullptr) {
                summary.new_count = ran ? offenders->new_count() : 0;
                summary.persisting = offenders->offenders().size() - offenders->new_count();
                summary.cleared = update.offenders_cleared;
                if (const auto oldest = offenders->oldest_first_seen())
                    summary.oldest_age = std::chrono::duration_cast<duration>(now - *oldest);
            }
            auto event = make_value_event(check, instance, *run.last_good, notify,
                                          since ? format_rfc3339(*since) : stamp, stamp, summary);
            if (offenders != nullptr) describe_offenders(event, *offenders, summary, check.max_samples);
            render_sample_lines(event, check, offenders, now);
            queue_or_hold(record, std::move(event), receivers, now, muted, update);
            dirty = true;
        }
        if (dirty) changed(record, update);
    }

    const auto error_key = dedup_key_for(instance, alert_kind::error);
    if (!ran || records_.contains(error_key)) {
        auto& record = record_for(instance, alert_kind::error);
        alert_state target = record.state;
        if (ran)
            target = alert_state::ok;
        else if (run.consecutive_failures >= check.alert.error_after)
            target = alert_state::firing;
        const auto action =
            next_action(record.state, record.last_sent, target, now, check.alert.repeat_interval);
        bool dirty = target != record.state;
        if (target == alert_state::firing && record.state != alert_state::firing) record.active_since = now;
        if (action != alert_action::none) {
            const auto notify =
                action == alert_action::resolve ? notify_action::resolve : notify_action::trigger;
            const auto since = record.active_since ? format_rfc3339(*record.active_since) : stamp;
            queue_or_hold(
                record,
                make_error_event(check, instance, run.error, run.consecutive_failures, notify, since, stamp),
                receivers, now, muted, update);
            dirty = true;
        }
        record.state = target;
        if (target == alert_state::ok) record.active_since.reset();
        if (dirty) changed(record, update);
    }
    return update;
}

book_update alert_book::retain(const std::set<check_instance>& configured, system_clock::time_point now) {
    book_update update;
    for (auto it = ledgers_.begin(); it != ledgers_.end();) {
        if (configured.contains(it->first)) {
            ++it;
            continue;
        }
        update.ledgers_forgotten.push_back(it->first);
        it = ledgers_.erase(it);
    }
    const auto stamp = format_rfc3339(now);
    for (auto& [key, record] : records_) {
        if (configured.contains(record.instance) || record.state == alert_state::ok) continue;
        if (record.state == alert_state::firing && record.last_event) {
            auto event = *record.last_event;
            event.action = notify_action::resolve;
            event.ends_at = stamp;
            event.timestamp = stamp;
            event.summary =
                cut_summary(event.alert_name + " resolved: the check was removed from the configuration");
            queue(record, std::move(event), record.receivers, now, update);
        }
        record.state = alert_state::ok;
        record.active_since.reset();
        changed(record, update);
    }
    return update;
}

book_update alert_book::forget_finished(system_clock::time_point now, duration keep_resolved,
                                        const std::set<std::string>& queued_keys) {
    book_update update;
    for (auto it = records_.begin(); it != records_.end();) {
        const auto& record = it->second;
        // A record some receiver still believes firing (a resolve held by a silence) stays.
        const bool over = record.state == alert_state::ok && !queued_keys.contains(record.dedup_key) &&
                          record.told_firing.empty() &&
                          (!record.resolved_at || now - *record.resolved_at > keep_resolved);
        if (!over) {
            ++it;
            continue;
        }
        update.forgotten.push_back(record.dedup_key);
        it = records_.erase(it);
    }
    return update;
}

alert_state alert_book::state(const check_instance& instance) const {
    auto it = records_.find(dedup_key_for(instance, alert_kind::value));
    return it == records_.end() ? alert_state::ok : it->second.state;
}

std::optional<system_clock::time_point> alert_book::active_since(const check_instance& instance) const {
    auto it = records_.find(dedup_key_for(instance, alert_kind::value));
    return it == records_.end() ? std::nullopt : it->second.active_since;
}

const offender_ledger* alert_book::ledger(const check_instance& instance) const {
    auto it = ledgers_.find(instance);
    return it == ledgers_.end() ? nullptr : &it->second;
}

std::string alert_book::definition_of(const config::check_config& check) {
    return nlohmann::json{{"module", check.module}, {"database", check.database}, {"params", check.params}}
        .dump();
}

const alert_record* alert_book::find(const std::string& dedup_key) const {
    auto it = records_.find(dedup_key);
    return it == records_.end() ? nullptr : &it->second;
}

}  // namespace invariantd
