#include "tests/support/test_receiver.hpp"

#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace invariantd::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string received_request::header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

struct test_receiver::impl {
    asio::io_context io;
    tcp::acceptor acceptor{io};
    std::thread thread;
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<received_request> requests;
    std::function<canned_response(const received_request&, std::size_t)> policy;
    std::set<std::shared_ptr<tcp::socket>> sockets;  // io thread only
    std::unique_ptr<asio::ssl::context> tls;

    asio::awaitable<void> serve(std::shared_ptr<tcp::socket> socket) {
        boost::system::error_code ec;
        if (tls) {
            asio::ssl::stream<tcp::socket&> stream(*socket, *tls);
            co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) co_await exchange(stream, socket);
        } else {
            co_await exchange(*socket, socket);
        }
        socket->close(ec);
        sockets.erase(socket);
    }

    template <typename Stream>
    asio::awaitable<void> exchange(Stream& stream, const std::shared_ptr<tcp::socket>& socket) {
        beast::flat_buffer buffer;
        boost::system::error_code ec;
        for (;;) {
            http::request<http::string_body> request;
            co_await http::async_read(stream, buffer, request, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            received_request seen;
            seen.method = std::string(request.method_string());
            seen.target = std::string(request.target());
            for (const auto& field : request) {
                std::string name(field.name_string());
                std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
                seen.headers[name] = std::string(field.value());
            }
            seen.body = request.body();
            seen.at = std::chrono::steady_clock::now();
            canned_response answer;
            {
                std::lock_guard lock(mutex);
                requests.push_back(seen);
                if (policy) answer = policy(seen, requests.size() - 1);
            }
            changed.notify_all();
            if (answer.delay.count() > 0) {
                asio::steady_timer timer(io, answer.delay);
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                if (!socket->is_open()) break;
            }
            http::response<http::string_body> response{static_cast<http::status>(answer.status), 11};
            response.set(http::field::content_type, "application/json");
            for (const auto& [name, value] : answer.headers) response.set(name, value);
            response.body() = answer.body;
            response.keep_alive(request.keep_alive());
            response.prepare_payload();
            co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || !response.keep_alive()) break;
        }
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto socket = std::make_shared<tcp::socket>(io);
            boost::system::error_code ec;
            co_await acceptor.async_accept(*socket, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            sockets.insert(socket);
            asio::co_spawn(io, serve(socket), asio::detached);
        }
    }
};

test_receiver::test_receiver(std::uint16_t port) : impl_(std::make_unique<impl>()) { listen(port); }

test_receiver::test_receiver(const std::string& cert_file, const std::string& key_file)
    : impl_(std::make_unique<impl>()), tls_(true) {
    impl_->tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(cert_file);
    impl_->tls->use_private_key_file(key_file, asio::ssl::context::pem);
    listen(0);
}

void test_receiver::listen(std::uint16_t port) {
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
    port_ = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

test_receiver::~test_receiver() {
    stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void test_receiver::stop() {
    asio::post(impl_->io, [state = impl_.get()] {
        boost::system::error_code ec;
        state->acceptor.close(ec);
        for (const auto& socket : state->sockets) socket->close(ec);
        state->io.stop();
    });
    if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id()) impl_->thread.join();
}

std::string test_receiver::url(const std::string& path, const std::string& host) const {
    return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(port_) + path;
}

void test_receiver::respond_with(std::function<canned_response(const received_request&, std::size_t)> policy) {
    std::lock_guard lock(impl_->mutex);
    impl_->policy = std::move(policy);
}

std::vector<received_request> test_receiver::requests() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests;
}

std::size_t test_receiver::count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->requests.size();
}

bool test_receiver::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mutex);
    return impl_->changed.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

std::uint16_t unused_port() {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

}  // namespace invariantd::test
