#include "daemon/core/http_server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

namespace invariantd {

http_response make_response(http::status status, std::string content_type, std::string body) {
    http_response response{status, 11};
    response.set(http::field::server, "invariantd");
    response.set(http::field::content_type, std::move(content_type));
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

http_server::http_server(asio::any_io_executor loop, http_limits limits, request_handler handler)
    : loop_(loop), limits_(limits), handler_(std::move(handler)), acceptor_(loop) {}

void http_server::listen(const std::string& host, std::uint16_t port) {
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void http_server::start() { asio::co_spawn(loop_, accept_loop(), log_escaped_exception{"http accept loop"}); }

void http_server::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    release_reserve();
}

http_server::~http_server() { release_reserve(); }

namespace {

/// True for EMFILE/ENFILE from accept. Compares the raw value and the category's address:
/// with no descriptor left, a sanitizer's check of a virtual call (which probes memory through
/// a pipe) would itself fail, so nothing polymorphic is touched before descriptors are freed.
bool out_of_descriptors(const boost::system::error_code& ec) {
    return (ec.value() == EMFILE || ec.value() == ENFILE) && &ec.category() == &boost::system::system_category();
}

}  // namespace

void http_server::hold_reserve() {
    for (int& fd : reserve_)
        if (fd < 0) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void http_server::release_reserve() {
    for (int& fd : reserve_) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

asio::awaitable<void> http_server::accept_loop() {
    hold_reserve();
    while (acceptor_.is_open()) {
        boost::system::error_code ec;
        auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (out_of_descriptors(ec)) {
            // Out of file descriptors (SPEC §5). First the reserve goes (the libuv/nginx
            // trick: two descriptors held for this moment), so logging and the rest of the
            // process have room; then the connection waiting longest gives its descriptor to
            // the newcomer, as at max_connections, and the reserve is taken back. The close
            // is synchronous, so the next accept succeeds at once.
            release_reserve();
            const bool evicted = evict_one();
            spdlog::warn("http: out of file descriptors; {}", evicted ? "closed the connection waiting longest"
                                                                     : "no connection to close, backing off");
            hold_reserve();
            if (evicted) continue;
        }
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        if (ec) {
            // Nothing to evict, or another failure: back off briefly instead of spinning.
            spdlog::warn("http: accept failed: {}", ec.message());
            asio::steady_timer pause(loop_, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        asio::co_spawn(loop_, serve(std::move(socket)), log_escaped_exception{"http connection"});
    }
}

std::optional<http::status> rejection_status(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
    if (ec == http::error::body_limit) return http::status::payload_too_large;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == beast::error::timeout ||
        ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == asio::error::broken_pipe)
        return std::nullopt;
    // Everything else the HTTP parser reports is a malformed request.
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) return http::status::bad_request;
    return std::nullopt;
}

bool http_server::evict_one() {
    // Linear in open connections (at most max_connections), and only when at the limit.
    auto victim = connections_.end();
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
        if (!it->waiting || it->evicted) continue;
        if (victim == connections_.end() || it->waiting_since < victim->waiting_since) victim = it;
    }
    if (victim == connections_.end()) return false;
    victim->evicted = true;
    boost::system::error_code ec;
    victim->stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    victim->stream->socket().close(ec);  // its pending read completes with operation_aborted
    return true;
}

asio::awaitable<void> http_server::serve(asio::ip::tcp::socket socket) {
    std::size_t open = 0;
    for (const auto& slot : connections_) open += slot.evicted ? 0 : 1;
    beast::tcp_stream stream(std::move(socket));
    boost::system::error_code ec;
    if (open >= limits_.max_connections && !evict_one()) {
        // Every connection is busy answering a request: only then is the newcomer refused.
        // (Over TLS the refusal cannot be read before a handshake; the client sees a close.)
        if (!tls_) {
            auto busy = make_response(http::status::service_unavailable, "application/json",
                                      R"({"error":"too many connections"})" "\n");
            busy.keep_alive(false);
            stream.expires_after(std::chrono::seconds(2));
            co_await http::async_write(stream, busy, asio::redirect_error(asio::use_awaitable, ec));
        }
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        co_return;
    }
    const auto slot = connections_.insert(connections_.end(), connection_slot{&stream, true, steady_clock::now()});
    struct slot_guard {
        std::list<connection_slot>& list;
        slot_iterator slot;
        ~slot_guard() { list.erase(slot); }
    } guard{connections_, slot};

    if (auto tls = tls_) {
        // The context of the accept time stays with the connection; a reload swaps tls_ for
        // connections accepted later. The handshake counts as waiting: a client that never
        // finishes it is evictable and bounded by the request timeout.
        beast::ssl_stream<beast::tcp_stream> secure(std::move(stream), *tls);
        slot->stream = &beast::get_lowest_layer(secure);
        beast::get_lowest_layer(secure).expires_after(limits_.request_timeout);
        co_await secure.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
        if (slot->evicted) co_return;
        if (ec) {
            // Routine for scanners and clients without the required certificate: debug only.
            spdlog::debug("http: TLS handshake failed: {}", ec.message());
            co_return;
        }
        const bool orderly = co_await serve_requests(secure, slot);
        if (orderly) {
            beast::get_lowest_layer(secure).expires_after(std::chrono::seconds(2));
            co_await secure.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
        }
        beast::get_lowest_layer(secure).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        co_return;
    }
    co_await serve_requests(stream, slot);
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

template <typename Stream>
asio::awaitable<bool> http_server::serve_requests(Stream& stream, slot_iterator slot) {
    auto& transport = beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    const auto wait_for_request = [&] {
        slot->waiting = true;
        slot->waiting_since = steady_clock::now();
    };

    beast::flat_buffer buffer;
    for (;;) {
        // Phase 1: wait for the first bytes of the next request under the idle timeout.
        wait_for_request();
        if (buffer.size() == 0) {
            transport.expires_after(limits_.idle_timeout);
            const std::size_t received =
                co_await stream.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
            if (slot->evicted) co_return false;
            if (ec) co_return ec == http::error::end_of_stream || ec == asio::error::eof;
            buffer.commit(received);
        }
        // Phase 2: the whole request must arrive within the request timeout (slow clients
        // cannot hold a connection open by trickling bytes).
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits_.header_limit));
        parser.body_limit(limits_.body_limit);
        transport.expires_after(limits_.request_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (slot->evicted) co_return false;
        if (ec) {
            if (auto status = rejection_status(ec)) {
                auto response = make_response(*status, "application/json",
                                              fmt::format(R"({{"error":"{}"}})" "\n", ec.message()));
                response.keep_alive(false);
                transport.expires_after(limits_.request_timeout);
                co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
                co_return !ec;
            }
            co_return false;
        }
        const http_request& request = parser.get();
        slot->waiting = false;  // being answered: never evicted mid-response
        http_response response = co_await handler_(request);
        response.version(request.version());
        response.keep_alive(request.keep_alive());
        transport.expires_after(limits_.request_timeout);
        if (request.method() == http::verb::head) {
            response.prepare_payload();
            http::response_serializer<http::string_body> serializer(response);
            co_await http::async_write_header(stream, serializer, asio::redirect_error(asio::use_awaitable, ec));
        } else {
            co_await http::async_write(stream, response, asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) co_return false;
        if (!response.keep_alive()) co_return true;
    }
}

}  // namespace invariantd
