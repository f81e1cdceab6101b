#include "daemon/alerting/alertmanager_reposter.hpp"

namespace invariantd {

void alertmanager_reposter::posted(const std::string& dedup_key, const std::string& receiver,
                                   steady_clock::time_point at) {
    last_posted_[{dedup_key, receiver}] = at;
}

void alertmanager_reposter::forget(const std::string& dedup_key) {
    for (auto it = last_posted_.begin(); it != last_posted_.end();)
        it = it->first.first == dedup_key ? last_posted_.erase(it) : std::next(it);
}

duration alertmanager_reposter::keep_resolved(
    const std::map<std::string, config::receiver_config>& receivers) {
    duration keep = std::chrono::minutes(15);
    for (const auto& [name, receiver] : receivers)
        if (receiver.type == config::receiver_type::alertmanager)
            keep = std::max(keep, receiver.resend_resolved_for);
    return keep;
}

std::vector<alertmanager_reposter::repost> alertmanager_reposter::due(
    const alert_book& book, const std::map<std::string, config::receiver_config>& receivers,
    const std::set<std::string>& queued_keys, const std::set<std::string>& held_checks,
    system_clock::time_point now, steady_clock::time_point steady_now) {
    std::vector<repost> out;
    for (const auto& [key, record] : book.records()) {
        if (!record.last_event || queued_keys.contains(key) || held_checks.contains(record.instance.check()))
            continue;
        const bool firing = record.state == alert_state::firing && !record.last_event->resolve();
        const bool resolved =
            record.state != alert_state::firing && record.last_event->resolve() && record.resolved_at;
        if (!firing && !resolved) continue;
        for (const auto& name : record.receivers) {
            auto receiver = receivers.find(name);
            if (receiver == receivers.end() || receiver->second.type != config::receiver_type::alertmanager)
                continue;
            if (resolved && now - *record.resolved_at > receiver->second.resend_resolved_for) continue;
            auto [last, inserted] = last_posted_.try_emplace({key, name}, steady_now);
            if (inserted || steady_now - last->second < receiver->second.resend_interval) continue;
            out.push_back({*record.last_event, name});
        }
    }
    return out;
}

}  // namespace invariantd
