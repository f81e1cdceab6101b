#pragma once
/// Turns check results into notifications and gets them to the receivers (SPEC §7).
///
/// After every run the daemon hands the check's alert state to observe(); the dispatcher
/// compares it with what it last notified (an alert_record per dedup key) and queues a
/// trigger, a repeat or a resolve for every receiver URL of the check. A queued notification
/// is committed to the outbox (outbox_store, on a dedicated worker thread) before it may be
/// sent; each receiver URL ("destination") has one delivery coroutine that sends its queue
/// strictly in order, retrying the head with backoff until the receiver takes it or refuses
/// it for good. Alert records are committed in the same transaction, so after a restart
/// firing alerts are not re-paged early and resolves still go out.
///
/// Loop thread only, except the store, which only the worker touches.
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/common.h>

#include "checks/result.hpp"
#include "daemon/alerting/alert_event.hpp"
#include "daemon/alerting/alert_tracker.hpp"
#include "daemon/alerting/http_client.hpp"
#include "daemon/alerting/outbox_store.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

/// Where delivery outcomes and queue lengths are reported (the daemon's metrics).
struct delivery_observer {
    std::function<void(const std::string& receiver, const char* outcome)> count;  ///< sent|failed|dropped
    std::function<void(const std::string& receiver, std::size_t length)> queue_length;
};

/// What the dispatcher remembers about one alert (one dedup key). Persisted as JSON.
struct alert_record {
    std::string dedup_key;
    std::string check;
    bool error_alert = false;
    alert_state state = alert_state::ok;  ///< as last observed; firing means a trigger was queued
    std::optional<system_clock::time_point> active_since;
    std::optional<system_clock::time_point> last_sent;    ///< the last trigger queued
    std::optional<system_clock::time_point> resolved_at;  ///< the last resolve queued
    std::vector<std::string> receivers;                   ///< where the last event went
    nlohmann::ordered_json last_event;                    ///< that event (re-posted to Alertmanager)
    bool persisted = false;                               ///< in the outbox file (not serialised)
};

nlohmann::ordered_json to_json(const alert_record& record);
alert_record record_from_json(const nlohmann::json& json);

enum class alert_action { none, trigger, resolve };

/// The notification rule: `notified` is the state the receivers were last told about
/// (firing = a trigger went out at `last_sent`), `now_state` the alert's state after a run.
/// Firing for the first time, or still firing `repeat_interval` after the last trigger →
/// trigger; firing before and not any more → resolve.
alert_action next_action(alert_state notified, std::optional<system_clock::time_point> last_sent,
                         alert_state now_state, system_clock::time_point now, duration repeat_interval);

class alert_dispatcher {
public:
    alert_dispatcher(asio::any_io_executor loop, delivery_observer observer);
    ~alert_dispatcher();
    alert_dispatcher(const alert_dispatcher&) = delete;
    alert_dispatcher& operator=(const alert_dispatcher&) = delete;

    /// Opens (creating) `<state_dir>/outbox.db` and loads the alert records and queued
    /// notifications. Start-up only (blocking); throws std::runtime_error when unusable.
    void open(const std::string& state_dir);
    /// Applies the receiver set: starts delivery to new URLs; notifications queued for a
    /// receiver that is no longer configured are dropped (error log, outcome "dropped").
    void configure(const std::vector<config::receiver_config>& receivers);
    /// The stored pending/firing state of a check's value alert, to seed its tracker.
    std::optional<std::pair<alert_state, system_clock::time_point>> stored_state(const std::string& check) const;
    /// After every run of `check`. `tracker` already reflects the run; `last_good` is the last
    /// successful run (this one if it succeeded).
    void observe(const config::check_config& check, const alert_tracker& tracker, const checks::check_result& result,
                 const checks::check_result* last_good, std::size_t consecutive_failures);
    /// Resolves the open alerts of every check not in `checks` (removed from the configuration).
    void retain_checks(const std::set<std::string>& checks);

    /// Records of alerts that are pending or firing, or still have notifications queued.
    std::vector<const alert_record*> active_records() const;
    /// The queued notifications of one dedup key, for /api/v1/alerts.
    nlohmann::ordered_json queued_json(const std::string& dedup_key) const;
    std::size_t queued_total() const;

    /// Stops delivery and waits until every state change is committed (SIGTERM).
    asio::awaitable<void> stop();

private:
    struct queued_notification {
        stored_notification row;
        nlohmann::json event;
        bool committed = false;  ///< durable in the outbox (or deliberately not: Alertmanager re-posts)
        unsigned failures = 0;
        steady_clock::time_point next_attempt{};
        std::string last_error;
    };
    struct destination {
        destination(asio::any_io_executor executor, std::shared_ptr<asio::ssl::context> tls, std::string receiver_name,
                    std::size_t url_index)
            : receiver(std::move(receiver_name)), index(url_index), wake(executor), connection(executor, std::move(tls)) {}
        std::string receiver;
        std::size_t index;
        std::deque<std::shared_ptr<queued_notification>> queue;
        asio::steady_timer wake;
        http_client_connection connection;
        bool removed = false;
    };
    using destination_key = std::pair<std::string, std::size_t>;

    alert_record& record_for(const config::check_config& check, bool error_alert);
    /// Queues `event` for `record`'s alert and remembers it as the record's last event.
    void notify(alert_record& record, const alert_event& event, const std::vector<std::string>& receivers,
                system_clock::time_point now, spdlog::level::level_enum firing_level,
                std::vector<std::shared_ptr<queued_notification>>& items);
    /// Queues `event` to every URL of every receiver in `receivers`.
    void enqueue(const alert_event& event, const std::vector<std::string>& receivers, bool durable,
                 std::vector<std::shared_ptr<queued_notification>>& out);
    /// Commits records and notifications on the store worker, then releases them for delivery.
    void persist(std::vector<stored_alert> alerts, std::vector<std::shared_ptr<queued_notification>> items);
    asio::awaitable<void> commit(std::vector<stored_alert> alerts, std::vector<std::shared_ptr<queued_notification>> items);
    /// Runs `write` on the store worker; a failure is logged with `failure`, never thrown.
    asio::awaitable<void> store_write(std::function<void(outbox_store&)> write, std::string failure);
    asio::awaitable<void> deliver(std::shared_ptr<destination> target);
    asio::awaitable<void> resend_loop();
    void resend_due();
    void publish_queue_lengths();
    void finish_store_op();
    static stored_alert to_stored(alert_record& record);

    asio::any_io_executor loop_;
    delivery_observer observer_;
    std::shared_ptr<asio::ssl::context> tls_;
    std::unique_ptr<outbox_store> store_;
    asio::thread_pool store_worker_{1};  // after store_: joined before the store closes
    std::vector<stored_notification> loaded_;
    std::map<std::string, config::receiver_config> receivers_;
    std::map<destination_key, std::shared_ptr<destination>> destinations_;
    std::map<std::string, alert_record> records_;
    std::map<std::pair<std::string, std::string>, steady_clock::time_point> last_resend_;  ///< (dedup key, receiver)
    asio::steady_timer resend_timer_;
    asio::steady_timer store_idle_;
    std::size_t store_ops_in_flight_ = 0;
    std::mt19937_64 random_;
    std::string host_name_;
    bool started_ = false;
    bool stopping_ = false;
};

}  // namespace invariantd
