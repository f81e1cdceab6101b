#pragma once
/// Membership of cluster mode (SPEC §12): one row per member in `<schema>.members`, renewed
/// every lease/3 on a connection of its own (outside every database's max_connections, so
/// slow checks cannot starve it), through the non-blocking libpq driver on the loop. A renewal
/// that outlives lease/3 is cancelled on the server and its connection dropped.
///
/// - join() (start-up) checks the schema version, then registers under a fresh
///   epoch from `<schema>.epochs`. A row of the same name that is still live is waited out
///   for one lease: if its heartbeat moves meanwhile another replica uses the name (start-up
///   error); if not, it was this member's previous life (kill -9, quick restart).
/// - Each heartbeat renews the row where name and epoch still match, and reads every member
///   with liveness judged by the database's clock (`heartbeat > now() - lease`), so members
///   with skewed clocks agree. A member whose lease ran out takes a new epoch when it renews
///   again: its writes from before are refused (fencing, see pg_state_store).
/// - Locally the member counts itself out `lease` after the *sending* of its last renewal
///   that succeeded — never later than the database counts it out — and then stops running
///   checks and sending notifications until a heartbeat gets through (/health 503).
/// Loop thread only.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd::db {
class pg_client;
}

namespace invariantd::cluster {


struct member_view {
    std::string name;
    bool live = false;
    double last_heartbeat = 0;  ///< unix seconds, the database's clock
    std::uint64_t epoch = 0;
    std::string version;
};

/// Why the daemon may not start in cluster mode (exit 70).
struct start_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct coordinator_settings {
    std::string dsn;  ///< secret, never logged
    std::string schema;
    std::string member;
    duration lease;
    std::string version;      ///< this binary's, stored with the member row
    std::string config_path;  ///< for the messages that name `cluster init -c FILE`
};

class coordinator {
public:
    coordinator(asio::any_io_executor loop, coordinator_settings settings);
    ~coordinator();

    /// Start-up: schema check and registration. Throws start_error.
    asio::awaitable<void> join();
    /// Starts the heartbeat loop.
    void start();
    /// Leaves the cluster (deletes this member's row, so its checks move at once).
    asio::awaitable<void> leave();

    const std::string& self() const { return settings_.member; }
    const std::string& schema() const { return settings_.schema; }
    duration lease() const { return settings_.lease; }
    /// True while this member holds a valid lease.
    bool is_member() const { return member_; }
    std::uint64_t epoch() const { return epoch_; }
    /// The epoch as the shared state store reads it: 0 while this member does not hold its
    /// lease, so its writes are refused before they reach the database.
    std::shared_ptr<const std::atomic<std::uint64_t>> epoch_token() const { return token_; }
    /// The live members' names (this one included while it is a member), sorted.
    const std::vector<std::string>& live_members() const { return live_; }
    /// Every member row as last read (live or not), sorted by name.
    const std::vector<member_view>& members() const { return members_; }
    /// The live member that owns `instance`, nullopt when no member is live.
    std::optional<std::string> owner_of(const std::string& instance) const;
    /// True when this member is a member and owns `instance`.
    bool owns(const std::string& instance) const;
    std::uint64_t rebalances() const { return rebalances_; }
    /// Called on the loop whenever ownership may have changed (membership, own lease).
    void on_change(std::function<void()> callback) { on_change_ = std::move(callback); }

private:
    struct heartbeat_outcome {
        bool ok = false;
        std::uint64_t epoch = 0;  ///< 0: our row is gone or taken; rejoin
        std::vector<member_view> members;
        std::string error;
    };
    asio::awaitable<void> heartbeat_loop();
    asio::awaitable<void> lease_watch();
    /// Renews (or registers again) and reads the members, within `deadline`.
    asio::awaitable<heartbeat_outcome> beat(std::uint64_t epoch, steady_clock::time_point deadline);
    /// Registers under a fresh epoch; 0 when a live row has the name.
    asio::awaitable<std::uint64_t> register_member(steady_clock::time_point deadline);
    void apply(heartbeat_outcome outcome, steady_clock::time_point sent);
    void set_member(bool member);

    asio::any_io_executor loop_;
    coordinator_settings settings_;
    std::unique_ptr<db::pg_client> connection_;
    asio::steady_timer next_beat_;
    asio::steady_timer lease_end_;
    std::function<void()> on_change_;
    std::vector<member_view> members_;
    std::vector<std::string> live_;
    std::uint64_t epoch_ = 0;
    std::shared_ptr<std::atomic<std::uint64_t>> token_ = std::make_shared<std::atomic<std::uint64_t>>(0);
    std::uint64_t rebalances_ = 0;
    std::uint64_t beats_ = 0;
    bool member_ = false;
    bool stopping_ = false;
    bool last_beat_failed_ = false;
};

}  // namespace invariantd::cluster
