#pragma once
/// A TCP proxy on 127.0.0.1 in front of a real server (PostgreSQL, PgBouncer) for tests that
/// must see the conversation: it counts the client's *flights* — bursts of bytes the client
/// sends before the server answers — which is the number of network round trips the client
/// waited for. Threads of its own; counters are thread-safe.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace invariantd::test {

class tcp_proxy {
public:
    tcp_proxy(std::string target_host, std::uint16_t target_port);
    ~tcp_proxy();
    tcp_proxy(const tcp_proxy&) = delete;
    tcp_proxy& operator=(const tcp_proxy&) = delete;

    std::uint16_t port() const;
    /// Client flights over every connection so far.
    std::uint64_t client_flights() const;
    std::uint64_t connections() const;
    /// While paused nothing is forwarded in either direction, on open and new connections
    /// alike (bytes wait in the socket buffers): a network partition as the client sees it —
    /// no error, no answer. Resuming delivers what waited.
    void pause(bool paused);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace invariantd::test
