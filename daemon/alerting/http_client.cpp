#include "daemon/alerting/http_client.hpp"

#include <fmt/format.h>

namespace invariantd {

namespace beast = boost::beast;
namespace http = beast::http;

std::optional<parsed_url> parse_url(std::string_view url) {
    parsed_url out;
    if (url.rfind("https://", 0) == 0) {
        out.tls = true;
        url.remove_prefix(8);
    } else if (url.rfind("http://", 0) == 0) {
        url.remove_prefix(7);
    } else {
        return std::nullopt;
    }
    const auto slash = url.find_first_of("/?");
    std::string_view authority = url.substr(0, slash);
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
    if (const auto at = authority.rfind('@'); at != std::string_view::npos)
        return std::nullopt;  // no userinfo
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        out.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
        }
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (out.host.empty()) return std::nullopt;
    if (port.empty()) {
        out.port = out.tls ? "443" : "80";
    } else {
        if (port.find_first_not_of("0123456789") != std::string_view::npos || port.size() > 5)
            return std::nullopt;
        out.port = std::string(port);
    }
    return out;
}

asio::ssl::context& tls_client_context::get() {
    if (context_) return *context_;
    auto context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    context->set_default_verify_paths(ec);
    context->set_verify_mode(asio::ssl::verify_peer);
    context_ = std::move(context);
    return *context_;
}

http_client_connection::http_client_connection(asio::any_io_executor executor,
                                               std::shared_ptr<tls_client_context> tls)
    : executor_(std::move(executor)), tls_(std::move(tls)) {}

bool http_client_connection::is_open() const {
    if (plain_) return plain_->socket().is_open();
    if (secure_) return beast::get_lowest_layer(*secure_).socket().is_open();
    return false;
}

void http_client_connection::close() {
    boost::system::error_code ec;
    // No TLS close_notify: waiting for the peer's answer could stall the queue, and the
    // receiver has already answered the request we cared about.
    if (plain_) plain_->socket().close(ec);
    if (secure_) beast::get_lowest_layer(*secure_).socket().close(ec);
    plain_.reset();
    secure_.reset();
    buffer_.clear();
    origin_.clear();
}

namespace {

std::string describe(const boost::system::error_code& ec, std::string_view stage) {
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted)
        return fmt::format("{} timed out", stage);
    return fmt::format("{} failed: {}", stage, ec.message());
}

template <typename Stream>
asio::awaitable<boost::system::error_code> exchange(Stream& stream, beast::flat_buffer& buffer,
                                                    http::request<http::string_body>& request,
                                                    http::response_parser<http::string_body>& parser,
                                                    steady_clock::time_point deadline, std::string& stage) {
    boost::system::error_code ec;
    stage = "sending the request";
    beast::get_lowest_layer(stream).expires_at(deadline);
    co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    stage = "reading the answer";
    beast::get_lowest_layer(stream).expires_at(deadline);
    co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    co_return ec;
}

}  // namespace

asio::awaitable<std::string> http_client_connection::connect(const parsed_url& url,
                                                             steady_clock::time_point deadline) {
    boost::system::error_code ec;
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor_);
    // The resolver has no deadline of its own.
    asio::steady_timer guard(executor_, deadline);
    guard.async_wait([weak = std::weak_ptr(resolver)](boost::system::error_code timer_ec) {
        if (timer_ec) return;
        if (auto live = weak.lock()) live->cancel();
    });
    const auto endpoints =
        co_await resolver->async_resolve(url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
    guard.cancel();
    if (ec) co_return describe(ec, "resolving the host");

    if (url.tls) {
        secure_.emplace(executor_, tls_->get());
        if (!SSL_set_tlsext_host_name(secure_->native_handle(), url.host.c_str()))
            co_return "setting the TLS server name failed";
        secure_->set_verify_mode(asio::ssl::verify_peer);
        secure_->set_verify_callback(asio::ssl::host_name_verification(url.host));
        auto& tcp = beast::get_lowest_layer(*secure_);
        tcp.expires_at(deadline);
        co_await tcp.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return describe(ec, "connecting");
        tcp.expires_at(deadline);
        co_await secure_->async_handshake(asio::ssl::stream_base::client,
                                          asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return describe(ec, "TLS handshake");
    } else {
        plain_.emplace(executor_);
        plain_->expires_at(deadline);
        co_await plain_->async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return describe(ec, "connecting");
    }
    origin_ = url.origin();
    co_return std::string();
}

asio::awaitable<post_outcome> http_client_connection::post(
    const parsed_url& url, const std::vector<std::pair<std::string, std::string>>& headers,
    const std::string& body, duration timeout) {
    const auto deadline = steady_clock::now() + timeout;
    http::request<http::string_body> request{http::verb::post, url.target, 11};
    const bool default_port = url.port == (url.tls ? "443" : "80");
    const bool v6 = url.host.find(':') != std::string::npos;
    const std::string host = v6 ? "[" + url.host + "]" : url.host;
    request.set(http::field::host, default_port ? host : host + ":" + url.port);
    request.set(http::field::user_agent, "invariantd");
    request.set(http::field::accept, "application/json, */*");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.keep_alive(true);
    request.body() = body;
    request.prepare_payload();

    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = is_open() && origin_ == url.origin();
        if (!reused) {
            close();
            auto failure = co_await connect(url, deadline);
            if (!failure.empty()) {
                close();
                co_return post_outcome{0, failure, {}, {}};
            }
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024);
        std::string stage;
        boost::system::error_code ec;
        if (secure_)
            ec = co_await exchange(*secure_, buffer_, request, parser, deadline, stage);
        else
            ec = co_await exchange(*plain_, buffer_, request, parser, deadline, stage);
        if (!ec) {
            const auto& response = parser.get();
            post_outcome outcome;
            outcome.status = static_cast<int>(response.result_int());
            if (auto it = response.find(http::field::retry_after); it != response.end())
                outcome.retry_after = std::string(it->value());
            outcome.body_excerpt = response.body().substr(0, 200);
            if (!response.keep_alive()) close();
            co_return outcome;
        }
        close();
        // A keep-alive connection the receiver closed while idle fails on first use: once more
        // on a fresh one (a notification is idempotent by its dedup key).
        if (reused && attempt == 0 && steady_clock::now() < deadline) continue;
        co_return post_outcome{0, describe(ec, stage), {}, {}};
    }
    co_return post_outcome{0, "no connection", {}, {}};
}

}  // namespace invariantd
