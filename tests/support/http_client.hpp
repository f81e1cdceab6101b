#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace invariantd::test {

struct http_reply {
    int status = 0;                             ///< 0 when no response arrived
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string body;
    std::string header(const std::string& name) const;
};

/// A blocking client connection over a real loopback socket, for sending exact bytes
/// (malformed requests, oversized headers, HTTP/1.0) and reading raw responses.
class http_connection {
public:
    explicit http_connection(std::uint16_t port);
    ~http_connection();
    void send(const std::string& bytes);
    /// Reads one response; HEAD responses have no body. status 0 if the peer closed first.
    http_reply read_reply(bool head_request = false, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// True when the server closes the connection within `timeout` (reads EOF or reset).
    bool closed_by_peer(std::chrono::milliseconds timeout);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// One request on a fresh connection with "Connection: close".
http_reply http_call(std::uint16_t port, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers = {}, const std::string& body = {});

inline http_reply http_get(std::uint16_t port, const std::string& target,
                           const std::map<std::string, std::string>& headers = {}) {
    return http_call(port, "GET", target, headers);
}

/// gunzip of a gzip body.
std::string gunzip(const std::string& data);

}  // namespace invariantd::test
