#include "daemon/alerting/delivery_queue.hpp"

#include <spdlog/spdlog.h>

#include "daemon/alerting/delivery_policy.hpp"
#include "daemon/alerting/receiver_payloads.hpp"
#include "daemon/common/time_format.hpp"

namespace invariantd {

namespace {

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

}  // namespace

const char* to_string(delivery_outcome outcome) {
    switch (outcome) {
        case delivery_outcome::sent:
            return "sent";
        case delivery_outcome::failed:
            return "failed";
        case delivery_outcome::dropped:
            return "dropped";
    }
    return "failed";
}

delivery_queue::delivery_queue(surroundings context, std::string receiver, std::size_t index)
    : context_(std::move(context)),
      receiver_(std::move(receiver)),
      index_(index),
      wake_(context_.loop),
      connection_(context_.loop, context_.tls),
      random_(std::random_device{}()) {}

void delivery_queue::start() {
    asio::co_spawn(
        context_.loop, [self = shared_from_this()]() { return self->deliver(); },
        log_escaped_exception{"notification delivery"});
}

void delivery_queue::push(std::shared_ptr<queued_notification> item) {
    queue_.push_back(std::move(item));
    wake_.cancel();
}

std::deque<std::shared_ptr<queued_notification>> delivery_queue::close() {
    closed_ = true;
    wake_.cancel();
    connection_.close();
    return std::exchange(queue_, {});
}

std::size_t delivery_queue::release_stored() {
    // The head may be on the wire: it stays and finishes (at most one duplicate, as across kill -9).
    std::size_t released = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->id != 0 && !(sending_ && it == queue_.begin())) {
            it = queue_.erase(it);
            ++released;
        } else {
            ++it;
        }
    }
    return released;
}

void delivery_queue::count(delivery_outcome outcome) const {
    if (context_.observer && context_.observer->count) context_.observer->count(receiver_, outcome);
}

asio::awaitable<void> delivery_queue::deliver() {
    boost::system::error_code ec;
    while (!closed_) {
        auto item = queue_.empty() ? nullptr : queue_.front();
        if (item && item->committed && item->cancelled) {
            queue_.pop_front();
            if (context_.lengths_changed) context_.lengths_changed();
            continue;
        }
        if (item && item->committed && context_.may_send && !context_.may_send()) {
            // Fenced: a member without its lease sends nothing; it looks again shortly.
            wake_.expires_after(std::chrono::milliseconds(250));
            co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (!item || !item->committed || steady_clock::now() < item->next_attempt) {
            wake_.expires_at(item && item->committed ? item->next_attempt : steady_clock::time_point::max());
            co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        const auto* found = context_.receiver(receiver_);
        if (found == nullptr) break;  // the pipeline closes us in the same step
        const config::receiver_config receiver = *found;
        const auto name = label(receiver.name, index_, receiver.urls.size());
        const auto& event = item->event;
        auto request = build_request(receiver, event, context_.host_name);
        const auto url = index_ < receiver.urls.size()
                             ? parse_url(join_url(receiver.urls[index_], request.path_suffix))
                             : std::nullopt;
        post_outcome outcome;
        sending_ = true;
        if (url) outcome = co_await connection_.post(*url, request.headers, request.body, receiver.timeout);
        sending_ = false;
        if (closed_) break;  // still in the outbox: sent again after a restart

        const auto verdict = !url                  ? delivery_verdict::dropped
                             : outcome.status == 0 ? delivery_verdict::retry
                                                   : classify_status(outcome.status);
        const char* action = to_string(event.action);
        if (verdict == delivery_verdict::retry) {
            ++item->failures;
            const auto retry_after = parse_retry_after(outcome.retry_after, system_clock::now());
            const auto delay = retry_delay(item->failures, retry_after, random_);
            item->next_attempt = steady_clock::now() + delay;
            item->last_error = outcome.status ? fmt::format("HTTP {}", outcome.status) : outcome.error;
            count(delivery_outcome::failed);
            spdlog::warn("notification {} {} to {} failed (attempt {}): {}; retrying in {}", action,
                         event.dedup_key, name, item->failures, item->last_error, format_duration(delay));
            continue;
        }
        queue_.pop_front();
        if (verdict == delivery_verdict::sent) {
            count(delivery_outcome::sent);
            spdlog::info("notification {} {} delivered to {} (HTTP {})", action, event.dedup_key, name,
                         outcome.status);
        } else {
            count(delivery_outcome::dropped);
            spdlog::error("notification {} {} dropped: {} refused it with HTTP {}: {}", action,
                          event.dedup_key, name, outcome.status,
                          url ? outcome.body_excerpt : std::string("invalid URL"));
        }
        if (context_.lengths_changed) context_.lengths_changed();
        if (item->id != 0 && context_.writer) {
            // Named, not temporaries in the co_await expression (the g++ 12 bug in daemon/README.md).
            outbox_writer::store_write remove = [id = item->id](state::state_store& store) {
                return store.remove_notifications({id});
            };
            std::string failure =
                "cannot remove a finished notification; it may be sent again after a restart";
            co_await context_.writer->write(std::move(remove), std::move(failure));
        }
    }
}

}  // namespace invariantd
