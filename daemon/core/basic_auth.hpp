#pragma once
/// server.basic_auth (SPEC §3): decides whether a request's `Authorization: Basic …` names a
/// configured user with the right password. bcrypt costs ~75 ms per check at cost 10, so it
/// runs on a thread of its own (made on first use; never the event loop, never the database
/// workers), and a verified user/password/hash triple is remembered — the next scrape costs a
/// SHA-256 and a set lookup. Loop thread only.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <boost/asio/thread_pool.hpp>

#include "daemon/common/asio.hpp"
#include "daemon/config/config.hpp"

namespace invariantd {

class basic_auth_gate {
public:
    basic_auth_gate();
    ~basic_auth_gate();

    /// The configuration to enforce (nullopt: none). Forgets verified credentials when it changes.
    void configure(const std::optional<config::basic_auth_config>& settings);
    bool enabled() const { return settings_.has_value(); }
    /// True for a path listed in `exempt` (compared whole, without the query).
    bool exempt(std::string_view path) const;
    /// True when `authorization` is "Basic <base64 user:password>" for a configured user.
    asio::awaitable<bool> admits(std::string authorization);

private:
    std::optional<config::basic_auth_config> settings_;
    std::set<std::string> verified_;  ///< SHA-256 of user, password and hash; bounded
    std::unique_ptr<asio::thread_pool> bcrypt_thread_;
};

/// "user:password" from an Authorization header value "Basic <base64>"; nullopt when malformed.
std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view authorization);

}  // namespace invariantd
