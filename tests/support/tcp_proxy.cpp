#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace invariantd::test {

struct tcp_proxy::impl {
    std::string host;
    std::uint16_t target_port = 0;
    int listener = -1;
    std::uint16_t port = 0;
    std::atomic<bool> stopping{false};
    std::atomic<bool> paused{false};
    std::atomic<std::uint64_t> flights{0};
    std::atomic<std::uint64_t> accepted{0};
    std::mutex mutex;
    std::thread acceptor;
    std::vector<std::thread> threads;
    std::vector<int> sockets;

    void accept_loop() {
        while (!stopping) {
            pollfd ready{listener, POLLIN, 0};
            if (::poll(&ready, 1, 100) <= 0) continue;
            const int client = ::accept(listener, nullptr, nullptr);
            if (client < 0) continue;
            const int server = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(target_port);
            ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
            if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
                ::close(client);
                ::close(server);
                continue;
            }
            const int one = 1;
            ::setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ++accepted;
            std::lock_guard lock(mutex);
            sockets.push_back(client);
            sockets.push_back(server);
            threads.emplace_back([this, client, server] { pump(client, server); });
        }
    }

    /// Both directions in one thread, so "who spoke last" needs no synchronisation.
    void pump(int client, int server) {
        bool server_spoke_last = true;  // the client's first bytes are a flight
        char buffer[65536];
        while (!stopping) {
            if (paused) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
            if (::poll(fds, 2, 100) <= 0) continue;
            for (int side = 0; side < 2; ++side) {
                if ((fds[side].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
                const int from = side == 0 ? client : server;
                const int to = side == 0 ? server : client;
                const auto got = ::read(from, buffer, sizeof buffer);
                if (got <= 0) {
                    ::shutdown(to, SHUT_WR);
                    return;
                }
                if (side == 0 && server_spoke_last) ++flights;
                server_spoke_last = side == 1;
                for (ssize_t sent = 0; sent < got;) {
                    const auto n = ::write(to, buffer + sent, static_cast<std::size_t>(got - sent));
                    if (n <= 0) return;
                    sent += n;
                }
            }
        }
    }
};

tcp_proxy::tcp_proxy(std::string target_host, std::uint16_t target_port) : impl_(std::make_unique<impl>()) {
    impl_->host = std::move(target_host);
    impl_->target_port = target_port;
    impl_->listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = 0;
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    if (::bind(impl_->listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(impl_->listener, 64) != 0)
        throw std::runtime_error("tcp_proxy: cannot listen");
    socklen_t length = sizeof address;
    ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&address), &length);
    impl_->port = ntohs(address.sin_port);
    impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

tcp_proxy::~tcp_proxy() {
    impl_->stopping = true;
    impl_->acceptor.join();  // first: no pump starts after this
    for (auto& thread : impl_->threads) thread.join();
    for (int fd : impl_->sockets) ::close(fd);
    ::close(impl_->listener);
}

std::uint16_t tcp_proxy::port() const {
    return impl_->port;
}
std::uint64_t tcp_proxy::client_flights() const {
    return impl_->flights;
}
std::uint64_t tcp_proxy::connections() const {
    return impl_->accepted;
}
void tcp_proxy::pause(bool paused) {
    impl_->paused = paused;
}

}  // namespace invariantd::test
