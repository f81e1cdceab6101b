#pragma once
/// A small HTTP/1.1 client for receivers: POST only, over plain TCP or TLS (OpenSSL, with
/// certificate and host-name verification and SNI), one keep-alive connection reused while
/// it stays open, a deadline on every attempt. Loop thread only.
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/common/asio.hpp"
#include "daemon/common/duration.hpp"

namespace invariantd {

struct parsed_url {
    bool tls = false;
    std::string host;  ///< without IPv6 brackets
    std::string port;
    std::string target;  ///< path and query, at least "/"
    std::string origin() const { return (tls ? "https://" : "http://") + host + ":" + port; }
};

/// http(s)://host[:port][/path][?query], with [v6] literals. nullopt when malformed.
std::optional<parsed_url> parse_url(std::string_view url);

struct post_outcome {
    int status = 0;            ///< 0: no HTTP answer
    std::string error;         ///< when status is 0: what went wrong (never contains the URL)
    std::string retry_after;   ///< the Retry-After header, if any
    std::string body_excerpt;  ///< the first bytes of the answer, for logs
};

/// The TLS settings every receiver connection shares: the system trust store (OpenSSL honours
/// SSL_CERT_FILE / SSL_CERT_DIR), TLS 1.2 or newer, peer verification required.
/// Made on first use: an OpenSSL context with the system CA bundle costs ~4 MB of resident
/// memory, which a daemon without an HTTPS receiver should not pay. Loop thread only.
class tls_client_context {
public:
    asio::ssl::context& get();

private:
    std::unique_ptr<asio::ssl::context> context_;
};

/// One outgoing connection to one origin at a time.
class http_client_connection {
public:
    http_client_connection(asio::any_io_executor executor, std::shared_ptr<tls_client_context> tls);

    /// POSTs `body` to `url`, reusing the open connection when it goes to the same origin
    /// (and retrying once on a fresh one when a reused connection turns out closed).
    /// `timeout` bounds resolve + connect + handshake + request + answer.
    asio::awaitable<post_outcome> post(const parsed_url& url,
                                       const std::vector<std::pair<std::string, std::string>>& headers,
                                       const std::string& body, duration timeout);
    void close();

private:
    asio::awaitable<std::string> connect(const parsed_url& url, steady_clock::time_point deadline);
    bool is_open() const;

    asio::any_io_executor executor_;
    std::shared_ptr<tls_client_context> tls_;
    std::optional<boost::beast::tcp_stream> plain_;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure_;
    std::string origin_;
    boost::beast::flat_buffer buffer_;
};

}  // namespace invariantd
