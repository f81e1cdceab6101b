#pragma once
/// One check instance's offender ledger (README "Offenders"): for each tracked key since when
/// it has been wrong, which keys the last run found for the first time, and the last 100 that
/// cleared. Pure: no I/O, no clock reads. Owned by the alert book, the single owner of alert
/// state; the pipeline persists a snapshot after each change.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd {

struct ledger_offender {
    std::string key;
    system_clock::time_point first_seen;
    bool is_new = false;  ///< found by the last run and not by the one before
};

struct cleared_offender {
    std::string key;
    system_clock::time_point first_seen;
    system_clock::time_point cleared_at;
};

class offender_ledger {
public:
    static constexpr std::size_t kept_cleared = 100;

    offender_ledger() = default;
    /// An empty ledger for a check whose definition is `definition` (module, database and
    /// params after defaults): a different definition later starts the ledger afresh.
    explicit offender_ledger(std::string definition) : definition_(std::move(definition)) {}

    /// After a successful run that found `keys` (worst first, distinct). Returns how many
    /// offenders cleared.
    std::size_t apply(const std::vector<std::string>& keys, bool truncated, system_clock::time_point now);

    const std::string& definition() const { return definition_; }
    /// The tracked offenders in the last run's order.
    const std::vector<ledger_offender>& offenders() const { return offenders_; }
    const std::deque<cleared_offender>& recently_cleared() const { return cleared_; }
    bool truncated() const { return truncated_; }
    std::optional<system_clock::time_point> last_seen() const { return last_seen_; }
    std::size_t new_count() const;
    std::optional<system_clock::time_point> oldest_first_seen() const;
    const ledger_offender* find(const std::string& key) const;

    /// Restores a stored ledger as it was.
    static offender_ledger restore(std::string definition, std::vector<ledger_offender> offenders,
                                   std::deque<cleared_offender> cleared, bool truncated,
                                   std::optional<system_clock::time_point> last_seen);

private:
    void index();

    std::string definition_;
    std::vector<ledger_offender> offenders_;
    std::unordered_map<std::string, std::size_t> position_;
    std::deque<cleared_offender> cleared_;  ///< newest first, at most kept_cleared
    bool truncated_ = false;
    std::optional<system_clock::time_point> last_seen_;
};

}  // namespace invariantd
