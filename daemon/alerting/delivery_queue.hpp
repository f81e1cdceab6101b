#pragma once
/// Stage 3 of alerting: one queue per receiver URL. Its coroutine sends the queue strictly in
/// order (a resolve never overtakes its trigger), retrying the head with backoff and
/// `Retry-After` until the receiver takes it or refuses it for good; a finished notification
/// is removed from the outbox. A dead URL holds up only its own queue. Loop thread only.
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "daemon/alerting/alert_event.hpp"
#include "daemon/alerting/http_client.hpp"
#include "daemon/alerting/outbox_writer.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

/// Where delivery outcomes and queue lengths are reported (the daemon's metrics).
enum class delivery_outcome { sent, failed, dropped };
const char* to_string(delivery_outcome outcome);

struct delivery_observer {
    std::function<void(const std::string& receiver, delivery_outcome outcome)> count;
    std::function<void(const std::string& receiver, std::size_t length)> queue_length;
};

/// One notification on its way to one URL. The event stays typed until it is rendered.
struct queued_notification {
    std::int64_t id = 0;  ///< outbox row; 0 when not stored (Alertmanager re-posts)
    std::string receiver;
    std::size_t destination = 0;
    alert_event event;
    bool committed = false;  ///< durable (or deliberately not durable): may be sent
    bool cancelled = false;  ///< cluster mode: its commit was refused (fenced, or another member's alert)
    unsigned failures = 0;
    steady_clock::time_point next_attempt{};
    std::string last_error;
};

class delivery_queue : public std::enable_shared_from_this<delivery_queue> {
public:
    /// What the queue needs of its surroundings, all owned by the pipeline.
    struct surroundings {
        asio::any_io_executor loop;
        std::shared_ptr<tls_client_context> tls;
        std::function<const config::receiver_config*(const std::string&)> receiver;
        outbox_writer* writer = nullptr;
        const delivery_observer* observer = nullptr;
        std::function<void()> lengths_changed;
        std::string host_name;
        /// Cluster mode: false while this member may not send (it lost its lease).
        std::function<bool()> may_send;
    };

    delivery_queue(surroundings context, std::string receiver, std::size_t index);

    void start();
    void push(std::shared_ptr<queued_notification> item);
    /// Something changed (a commit finished): look at the head again.
    void wake() { wake_.cancel(); }
    /// Stops for good (receiver removed or shutdown); returns what was still queued.
    std::deque<std::shared_ptr<queued_notification>> close();
    /// Cluster mode: removes the stored notifications not being sent right now (their claim
    /// is void); returns how many.
    std::size_t release_stored();

    const std::string& receiver() const { return receiver_; }
    std::size_t index() const { return index_; }
    const std::deque<std::shared_ptr<queued_notification>>& items() const { return queue_; }

private:
    asio::awaitable<void> deliver();
    void count(delivery_outcome outcome) const;

    surroundings context_;
    std::string receiver_;
    std::size_t index_;
    std::deque<std::shared_ptr<queued_notification>> queue_;
    asio::steady_timer wake_;
    http_client_connection connection_;
    std::mt19937_64 random_;
    bool closed_ = false;
    bool sending_ = false;  ///< the head is being posted
};

}  // namespace invariantd
