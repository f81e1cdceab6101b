#pragma once
#include <array>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd {

namespace beast = boost::beast;
namespace http = beast::http;
using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

/// Turns a parsed request into a response. May suspend (e.g. ?wait=1 runs a check) but
/// must not block. Runs on the loop thread.
using request_handler = std::function<asio::awaitable<http_response>(const http_request&)>;

/// Limits that keep a misbehaving client from hurting the daemon.
struct http_limits {
    std::size_t header_limit = 8 * 1024;  ///< larger request heads get 431
    std::size_t body_limit = 64 * 1024;   ///< larger bodies get 413
    duration idle_timeout{60000};         ///< a connection with no request this long is closed
    duration request_timeout{10000};      ///< a started request must arrive whole within this
    std::size_t max_connections = 1024;   ///< at the limit the most idle connection is evicted
};

/// HTTP/1.1 server on the daemon's event loop (Boost.Beast): one coroutine per
/// connection reading, handling and writing requests in turn with keep-alive. Malformed
/// requests get 400, oversized heads 431, oversized bodies 413 — never a crash. HEAD
/// answers carry the GET headers without a body.
///
/// At `max_connections` a new connection is never refused: the connection that has waited
/// the longest for (the rest of) a request is closed to admit it, the way nginx and Envoy
/// shed idle keep-alives. Idle or half-sent connections therefore cannot lock a load
/// balancer's probe out; a connection whose request is being answered is never evicted.
/// Loop thread only.
class http_server {
public:
    http_server(asio::any_io_executor loop, http_limits limits, request_handler handler);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Binds and listens; throws boost::system::system_error when the address is unusable.
    void listen(const std::string& host, std::uint16_t port);
    /// The bound address (useful with port 0).
    asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void start();
    /// Stops accepting; connections in progress finish their current request.
    void stop();
    /// HTTPS with this context for connections accepted from now on; nullptr: plain HTTP.
    /// Connections already open keep the context they were accepted with.
    void set_tls(std::shared_ptr<asio::ssl::context> context) { tls_ = std::move(context); }
    std::size_t active_connections() const { return connections_.size(); }

private:
    /// What the server knows of one open connection (owned by its serve() coroutine's list entry).
    struct connection_slot {
        beast::tcp_stream* stream = nullptr;
        bool waiting = true;                   ///< waiting for (the rest of) a request: evictable
        steady_clock::time_point waiting_since;  ///< when it started waiting
        bool evicted = false;
    };
    using slot_iterator = std::list<connection_slot>::iterator;

    asio::awaitable<void> accept_loop();
    /// Opens / closes the descriptors kept in reserve for the moment accept runs out of them.
    void hold_reserve();
    void release_reserve();
    asio::awaitable<void> serve(asio::ip::tcp::socket socket);
    /// Reads, answers and writes requests in turn on an open (plain or TLS) stream. True when
    /// the connection ended in order (the client closed, or an answer closed it), so a TLS
    /// close_notify is worth sending.
    template <typename Stream>
    asio::awaitable<bool> serve_requests(Stream& stream, slot_iterator slot);
    /// Closes the connection waiting the longest; false when every connection is busy answering.
    bool evict_one();

    asio::any_io_executor loop_;
    http_limits limits_;
    request_handler handler_;
    asio::ip::tcp::acceptor acceptor_;
    std::list<connection_slot> connections_;
    std::shared_ptr<asio::ssl::context> tls_;
    std::array<int, 2> reserve_{-1, -1};
};

/// The status answering a request Beast's parser rejected with `ec` (431 head too large, 413
/// body too large, 400 malformed); nullopt when the connection just ended or timed out.
std::optional<http::status> rejection_status(const boost::system::error_code& ec);

/// A response with `status`, `content_type` and `body`, HTTP/1.1.
http_response make_response(http::status status, std::string content_type, std::string body);

}  // namespace invariantd
