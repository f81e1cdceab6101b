#pragma once
/// Stage 4 of alerting: Alertmanager forgets alerts that are not re-posted (and everything
/// when it restarts), so firing alerts go to each alertmanager receiver again every
/// `resend_interval`, and resolved ones for `resend_resolved_for` after their resolve.
/// Re-posts are derived from the book's records and are not written to the outbox.
/// Pure apart from its own memory of when each (alert, receiver) was last posted.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/alerting/alert_book.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

class alertmanager_reposter {
public:
    struct repost {
        alert_event event;
        std::string receiver;
    };

    /// Remembers that `dedup_key` was just posted to `receiver` (any notification counts).
    void posted(const std::string& dedup_key, const std::string& receiver, steady_clock::time_point at);
    /// The re-posts due at `now`; alerts with a notification still queued wait for it, and
    /// those of silenced checks (`held_checks`) are not re-posted until the silence ends.
    std::vector<repost> due(const alert_book& book,
                            const std::map<std::string, config::receiver_config>& receivers,
                            const std::set<std::string>& queued_keys,
                            const std::set<std::string>& held_checks, system_clock::time_point now,
                            steady_clock::time_point steady_now);
    /// The alert's record is gone: forget it here too.
    void forget(const std::string& dedup_key);
    /// How long resolved records must be kept for re-posting: the longest resend_resolved_for.
    static duration keep_resolved(const std::map<std::string, config::receiver_config>& receivers);

private:
    std::map<std::pair<std::string, std::string>, steady_clock::time_point>
        last_posted_;  ///< (dedup key, receiver)
};

}  // namespace invariantd
