#include "daemon/alerting/offender_ledger.hpp"

#include <algorithm>

namespace invariantd {

std::size_t offender_ledger::apply(const std::vector<std::string>& keys, bool truncated,
                                   system_clock::time_point now) {
    std::vector<ledger_offender> next;
    next.reserve(keys.size());
    std::unordered_map<std::string, std::size_t> seen_now;
    for (const auto& key : keys) {
        if (!seen_now.emplace(key, next.size()).second) continue;  // a module repeating a key counts it once
        auto it = position_.find(key);
        if (it != position_.end())
            next.push_back({key, offenders_[it->second].first_seen, false});
        else
            next.push_back({key, now, true});
    }
    std::size_t cleared = 0;
    for (const auto& old : offenders_) {
        if (seen_now.contains(old.key)) continue;
        cleared_.push_front({old.key, old.first_seen, now});
        ++cleared;
    }
    while (cleared_.size() > kept_cleared) cleared_.pop_back();
    offenders_ = std::move(next);
    truncated_ = truncated;
    last_seen_ = now;
    index();
    return cleared;
}

void offender_ledger::index() {
    position_.clear();
    for (std::size_t i = 0; i < offenders_.size(); ++i) position_.emplace(offenders_[i].key, i);
}

std::size_t offender_ledger::new_count() const {
    return static_cast<std::size_t>(
        std::count_if(offenders_.begin(), offenders_.end(), [](const auto& entry) { return entry.is_new; }));
}

std::optional<system_clock::time_point> offender_ledger::oldest_first_seen() const {
    std::optional<system_clock::time_point> oldest;
    for (const auto& entry : offenders_)
        if (!oldest || entry.first_seen < *oldest) oldest = entry.first_seen;
    return oldest;
}

const ledger_offender* offender_ledger::find(const std::string& key) const {
    auto it = position_.find(key);
    return it == position_.end() ? nullptr : &offenders_[it->second];
}

offender_ledger offender_ledger::restore(std::string definition, std::vector<ledger_offender> offenders,
                                         std::deque<cleared_offender> cleared, bool truncated,
                                         std::optional<system_clock::time_point> last_seen) {
    offender_ledger ledger(std::move(definition));
    ledger.offenders_ = std::move(offenders);
    ledger.cleared_ = std::move(cleared);
    ledger.truncated_ = truncated;
    ledger.last_seen_ = last_seen;
    ledger.index();
    return ledger;
}

}  // namespace invariantd
