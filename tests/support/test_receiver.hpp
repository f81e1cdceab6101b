#pragma once
/// A real HTTP receiver for alert tests: listens on 127.0.0.1 (port 0 or a given one) in its
/// own thread, records every request, and answers what the test's policy says (status,
/// headers, a delay). Thread-safe accessors; tests wait on it with deadlines, never sleeps.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace invariantd::test {

struct received_request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  ///< names lower-cased
    std::string body;
    std::chrono::steady_clock::time_point at;
    nlohmann::json json() const { return nlohmann::json::parse(body); }
    std::string header(const std::string& name) const;
};

struct canned_response {
    int status = 202;
    std::map<std::string, std::string> headers;
    std::string body = "{\"status\":\"success\"}";
    std::chrono::milliseconds delay{0};  ///< before answering (the request is recorded first)
};

class test_receiver {
public:
    /// Listens on 127.0.0.1:`port` (0: any free port).
    explicit test_receiver(std::uint16_t port = 0);
    /// The same over TLS with this certificate chain and key (PEM files).
    test_receiver(const std::string& cert_file, const std::string& key_file);
    ~test_receiver();
    test_receiver(const test_receiver&) = delete;
    test_receiver& operator=(const test_receiver&) = delete;

    std::uint16_t port() const { return port_; }
    /// http://127.0.0.1:port<path>, or https://<host>:port<path> for a TLS receiver.
    std::string url(const std::string& path = "", const std::string& host = "127.0.0.1") const;
    /// Decides each answer; the default answers 202.
    void respond_with(std::function<canned_response(const received_request&, std::size_t index)> policy);
    std::vector<received_request> requests() const;
    std::size_t count() const;
    /// Waits until at least `n` requests arrived.
    bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
    /// Closes the listener and every connection (the port then refuses connections).
    void stop();

private:
    struct impl;
    void listen(std::uint16_t port);
    std::unique_ptr<impl> impl_;
    std::uint16_t port_ = 0;
    bool tls_ = false;
};

/// A free loopback port that nothing listens on (bound once, then released).
std::uint16_t unused_port();

}  // namespace invariantd::test
