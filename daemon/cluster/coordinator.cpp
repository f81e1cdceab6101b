#include "daemon/cluster/coordinator.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/cluster/cluster_schema.hpp"
#include "daemon/cluster/rendezvous.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/db/pg_client.hpp"

namespace invariantd::cluster {

namespace {

std::chrono::milliseconds statement_timeout_for(duration lease) {
    // A renewal that takes longer than a third of the lease is as good as lost.
    return std::max(std::chrono::milliseconds(1000),
                    std::chrono::duration_cast<std::chrono::milliseconds>(lease / 3));
}

std::string q(const std::string& schema) {
    return "\"" + schema + "\"";
}

}  // namespace

coordinator::coordinator(asio::any_io_executor loop, coordinator_settings settings)
    : loop_(loop),
      settings_(std::move(settings)),
      connection_(std::make_unique<db::pg_client>(
          loop, db::pg_client_options{.name = "the coordination database",
                                      .dsn = settings_.dsn,
                                      .application_name = "invariantd/" + settings_.member,
                                      .connect_timeout = statement_timeout_for(settings_.lease),
                                      .statement_timeout = statement_timeout_for(settings_.lease)})),
      next_beat_(loop),
      lease_end_(loop, steady_clock::time_point::max()) {}

coordinator::~coordinator() {
    stopping_ = true;
}

asio::awaitable<std::uint64_t> coordinator::register_member(steady_clock::time_point deadline) {
    const auto s = q(settings_.schema);
    // Named, not temporaries in the co_await expression (the g++ 12 bug in daemon/README.md).
    auto sql =
        fmt::format("INSERT INTO {s}.members AS m (name, epoch, started_at, heartbeat, version)\n"
                    "VALUES ($1, nextval('{s}.epochs'), now(), now(), $2)\n"
                    "ON CONFLICT (name) DO UPDATE SET epoch = nextval('{s}.epochs'), started_at = now(),\n"
                    "    heartbeat = now(), version = EXCLUDED.version\n"
                    "  WHERE m.heartbeat < now() - $3::bigint * interval '1 millisecond'\n"
                    "RETURNING epoch",
                    fmt::arg("s", s));
    std::vector<db::value> params{settings_.member, settings_.version, std::to_string(settings_.lease.count())};
    const auto rows = co_await connection_->exec(std::move(sql), std::move(params), deadline);
    if (rows.rows.empty()) co_return 0;
    co_return static_cast<std::uint64_t>(db::integer_of(rows.rows[0][0]));
}

asio::awaitable<void> coordinator::join() {
    const auto s = q(settings_.schema);
    const auto step = [this] { return steady_clock::now() + statement_timeout_for(settings_.lease); };
    try {
        const int version = co_await installed_version(*connection_, settings_.schema, step());
        const auto init = fmt::format("invariantd cluster init -c {}", settings_.config_path);
        if (version == 0)
            throw start_error(
                fmt::format("the coordination database has no invariantd schema '{}'; create it with `{}`",
                            settings_.schema, init));
        if (version < schema_version)
            throw start_error(
                fmt::format("the coordination schema '{}' is at version {}, this binary needs {}; "
                            "upgrade it with `{}`",
                            settings_.schema, version, schema_version, init));
        if (version > schema_version)
            throw start_error(
                fmt::format("the coordination schema '{}' is at version {}, newer than this binary's {}; "
                            "run a newer invariantd",
                            settings_.schema, version, schema_version));
        epoch_ = co_await register_member(step());
        if (epoch_ == 0) {
            // A live row of this name: another replica, or this member's previous life.
            // Its heartbeat moving during one lease tells which.
            const auto read = fmt::format("SELECT heartbeat::text FROM {}.members WHERE name = $1", s);
            const std::vector<db::value> name{settings_.member};
            const auto first = co_await connection_->exec(read, name, step());
            spdlog::info(
                "cluster: member '{}' is registered and live; waiting up to {} for its lease to run out",
                settings_.member, format_duration(settings_.lease));
            const auto deadline = steady_clock::now() + settings_.lease + std::chrono::seconds(1);
            while (epoch_ == 0) {
                if (steady_clock::now() > deadline)
                    throw start_error(fmt::format(
                        "cluster member '{}' stayed live; set a unique cluster.member", settings_.member));
                asio::steady_timer pause(loop_, std::chrono::milliseconds(250));
                co_await pause.async_wait(asio::use_awaitable);
                const auto now = co_await connection_->exec(read, name, step());
                if (!first.rows.empty() && !now.rows.empty() && now.rows[0][0] != first.rows[0][0])
                    throw start_error(
                        fmt::format("a second live member named '{}' renews its heartbeat: another replica "
                                    "uses this name; "
                                    "give every replica its own cluster.member",
                                    settings_.member));
                epoch_ = co_await register_member(step());
            }
        }
    } catch (const db::error& e) {
        throw start_error(secret_registry::global().redact(
            fmt::format("cluster: the coordination database failed: {}", e.what())));
    }
    const auto sent = steady_clock::now();
    auto outcome = co_await beat(epoch_, sent + statement_timeout_for(settings_.lease));
    if (!outcome.ok)
        throw start_error(
            secret_registry::global().redact("cluster: first heartbeat failed: " + outcome.error));
    apply(std::move(outcome), sent);
    spdlog::info("cluster: joined as '{}' (epoch {}), {} live members", settings_.member, epoch_,
                 live_.size());
}

void coordinator::start() {
    asio::co_spawn(loop_, heartbeat_loop(), log_escaped_exception{"cluster heartbeat"});
    asio::co_spawn(loop_, lease_watch(), log_escaped_exception{"cluster lease"});
}

asio::awaitable<coordinator::heartbeat_outcome> coordinator::beat(std::uint64_t epoch,
                                                                  steady_clock::time_point deadline) {
    heartbeat_outcome outcome;
    const auto s = q(settings_.schema);
    const auto lease_ms = std::to_string(settings_.lease.count());
    try {
        if (epoch != 0) {
            auto renew = fmt::format(
                    "UPDATE {s}.members SET heartbeat = now(),\n"
                    "    epoch = CASE WHEN heartbeat < now() - $3::bigint * interval '1 millisecond'\n"
                    "                 THEN nextval('{s}.epochs') ELSE epoch END\n"
                    "WHERE name = $1 AND epoch = $2 RETURNING epoch",
                    fmt::arg("s", s));
            std::vector<db::value> params{settings_.member, std::to_string(epoch), lease_ms};
            const auto renewed = co_await connection_->exec(std::move(renew), std::move(params), deadline);
            epoch = renewed.rows.empty() ? 0 : static_cast<std::uint64_t>(db::integer_of(renewed.rows[0][0]));
        }
        if (epoch == 0) epoch = co_await register_member(deadline);  // our row was removed or our lease taken
        if (epoch == 0) {
            outcome.error = fmt::format("another live member is registered as '{}'", settings_.member);
            co_return outcome;
        }
        // Retention: members silent for 10 leases are gone for good (pod names change on
        // every rollout), delivered notifications after 24 h.
        if (++beats_ % 10 == 1) {
            auto departed = fmt::format("DELETE FROM {s}.members WHERE heartbeat < now() - 10 * $1::bigint "
                                        "* interval '1 millisecond'",
                                        fmt::arg("s", s));
            std::vector<db::value> lease{lease_ms};
            co_await connection_->exec(std::move(departed), std::move(lease), deadline);
            auto delivered = fmt::format(
                "DELETE FROM {s}.notifications WHERE delivered_at < now() - interval '24 hours'", fmt::arg("s", s));
            std::vector<db::value> none;
            co_await connection_->exec(std::move(delivered), std::move(none), deadline);
        }
        auto read = fmt::format("SELECT name, epoch, extract(epoch FROM heartbeat)::float8,\n"
                        "       heartbeat > now() - $1::bigint * interval '1 millisecond', version\n"
                        "FROM {s}.members ORDER BY name",
                        fmt::arg("s", s));
        std::vector<db::value> lease{lease_ms};
        const auto rows = co_await connection_->exec(std::move(read), std::move(lease), deadline);
        for (const auto& row : rows.rows) {
            member_view member;
            member.name = db::text_of(row[0]);
            member.epoch = static_cast<std::uint64_t>(db::integer_of(row[1]));
            member.last_heartbeat = db::real_of(row[2]);
            member.live = db::text_of(row[3]) == "true";
            member.version = db::text_of(row[4]);
            outcome.members.push_back(std::move(member));
        }
        outcome.ok = true;
        outcome.epoch = epoch;
    } catch (const std::exception& e) {
        outcome.error = e.what();
    }
    co_return outcome;
}

void coordinator::apply(heartbeat_outcome outcome, steady_clock::time_point sent) {
    if (!outcome.ok) {
        if (!last_beat_failed_)
            spdlog::error("cluster: heartbeat failed: {}", secret_registry::global().redact(outcome.error));
        last_beat_failed_ = true;
        return;
    }
    if (last_beat_failed_) spdlog::info("cluster: heartbeat renewed again");
    last_beat_failed_ = false;
    if (outcome.epoch != epoch_ && epoch_ != 0)
        spdlog::warn("cluster: rejoined under epoch {} (was {}): the lease had run out", outcome.epoch,
                     epoch_);
    epoch_ = outcome.epoch;
    std::vector<std::string> live;
    for (auto& member : outcome.members) {
        if (member.name == settings_.member) {
            // The read does not see the renewal made just before it.
            member.live = true;
            member.epoch = epoch_;
        }
        if (member.live) live.push_back(member.name);
    }
    if (std::find(live.begin(), live.end(), settings_.member) == live.end()) live.push_back(settings_.member);
    std::sort(live.begin(), live.end());
    members_ = std::move(outcome.members);
    const bool changed = live != live_;
    if (changed && !live_.empty()) {
        ++rebalances_;
        spdlog::info("cluster: live members now {}", fmt::join(live, ", "));
    }
    live_ = std::move(live);
    lease_end_.expires_at(sent + settings_.lease);
    if (member_) token_->store(epoch_);
    if (!member_)
        set_member(true);
    else if (changed && on_change_)
        on_change_();
}

void coordinator::set_member(bool member) {
    if (member == member_) return;
    member_ = member;
    token_->store(member ? epoch_ : 0);
    if (member)
        spdlog::info("cluster: member '{}' holds its lease (epoch {})", settings_.member, epoch_);
    else
        spdlog::error(
            "cluster: member '{}' lost its lease (no heartbeat for {}): running no checks and sending "
            "no notifications until it renews",
            settings_.member, format_duration(settings_.lease));
    if (on_change_) on_change_();
}

asio::awaitable<void> coordinator::heartbeat_loop() {
    while (!stopping_) {
        const auto sent = steady_clock::now();
        auto outcome = co_await beat(epoch_, sent + statement_timeout_for(settings_.lease));
        if (stopping_) break;
        apply(std::move(outcome), sent);
        next_beat_.expires_at(sent + settings_.lease / 3);
        boost::system::error_code ec;
        co_await next_beat_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

asio::awaitable<void> coordinator::lease_watch() {
    while (!stopping_) {
        boost::system::error_code ec;
        co_await lease_end_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (stopping_) break;
        if (ec == asio::error::operation_aborted) continue;  // renewed: the timer was moved
        set_member(false);
        lease_end_.expires_at(steady_clock::time_point::max());
    }
}

asio::awaitable<void> coordinator::leave() {
    if (stopping_) co_return;
    stopping_ = true;
    next_beat_.cancel();
    lease_end_.cancel();
    const bool was_member = member_;
    member_ = false;
    token_->store(0);
    if (!was_member) co_return;
    bool left = true;
    try {
        auto sql = fmt::format("DELETE FROM {}.members WHERE name = $1 AND epoch = $2", q(settings_.schema));
        std::vector<db::value> params{settings_.member, std::to_string(epoch_)};
        const auto deadline = steady_clock::now() + statement_timeout_for(settings_.lease);
        co_await connection_->exec(std::move(sql), std::move(params), deadline);
    } catch (const std::exception& e) {
        spdlog::warn("cluster: could not leave cleanly ({}); the lease will run out", e.what());
        left = false;
    }
    if (left) spdlog::info("cluster: member '{}' left", settings_.member);
}

std::optional<std::string> coordinator::owner_of(const std::string& instance) const {
    return rendezvous_owner(live_, instance);
}

bool coordinator::owns(const std::string& instance) const {
    if (!member_) return false;
    const auto owner = owner_of(instance);
    return owner && *owner == settings_.member;
}

}  // namespace invariantd::cluster
