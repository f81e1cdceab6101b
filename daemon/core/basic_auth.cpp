#include "daemon/core/basic_auth.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>

#include <spdlog/spdlog.h>

#include "daemon/common/bcrypt.hpp"
#include "daemon/db/run_blocking.hpp"

namespace invariantd {

namespace {

/// Verified credentials remembered at most; past it the set starts over (a flood of distinct
/// good passwords is not a case worth memory).
constexpr std::size_t max_remembered = 1024;

std::string remembered_key(const std::string& user, const std::string& password, const std::string& hash) {
    const std::string material = user + '\0' + password + '\0' + hash;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

}  // namespace

std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view authorization) {
    constexpr std::string_view scheme = "Basic ";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)  // the scheme is case-insensitive (RFC 7235)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return std::nullopt;
    std::string encoded(authorization.substr(scheme.size()));
    while (!encoded.empty() && encoded.back() == ' ') encoded.pop_back();
    if (encoded.empty() || encoded.size() % 4 != 0 || encoded.size() > 4096) return std::nullopt;
    std::string decoded(encoded.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                       reinterpret_cast<const unsigned char*>(encoded.data()),
                                       static_cast<int>(encoded.size()));
    if (length < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding's zero bytes; take them off again.
    std::size_t size = static_cast<std::size_t>(length);
    if (encoded.ends_with("==")) size -= 2;
    else if (encoded.ends_with("=")) size -= 1;
    decoded.resize(size);
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    return std::pair{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

basic_auth_gate::basic_auth_gate() = default;

basic_auth_gate::~basic_auth_gate() {
    if (bcrypt_thread_) bcrypt_thread_->join();
}

void basic_auth_gate::configure(const std::optional<config::basic_auth_config>& settings) {
    if (settings == settings_) return;
    settings_ = settings;
    verified_.clear();
}

bool basic_auth_gate::exempt(std::string_view path) const {
    if (!settings_) return true;
    for (const auto& exempt_path : settings_->exempt)
        if (exempt_path == path) return true;
    return false;
}

asio::awaitable<bool> basic_auth_gate::admits(std::string authorization) {
    if (!settings_) co_return true;
    auto credentials = basic_credentials(authorization);
    if (!credentials) co_return false;
    const std::string user = credentials->first;
    const std::string password = credentials->second;
    const auto account = settings_->users.find(user);
    const bool known = account != settings_->users.end();
    // An unknown user costs a bcrypt too (against a configured hash), so the answer's timing
    // does not tell which user names exist.
    const std::string hash = known ? account->second : settings_->users.begin()->second;
    const auto key = remembered_key(user, password, hash);
    if (known && verified_.contains(key)) co_return true;
    if (!bcrypt_thread_) bcrypt_thread_ = std::make_unique<asio::thread_pool>(1);
    auto verify = [password, hash] { return bcrypt_matches(password, hash); };
    const bool matches = co_await run_blocking(bcrypt_thread_->get_executor(), std::move(verify));
    if (!known || !matches) co_return false;
    spdlog::debug("basic auth: bcrypt accepted user '{}'", user);
    // The configuration may have changed while bcrypt ran: remember only what still holds.
    if (!settings_) co_return true;
    if (const auto now = settings_->users.find(user); now != settings_->users.end() && now->second == hash) {
        if (verified_.size() >= max_remembered) verified_.clear();
        verified_.insert(key);
    }
    co_return true;
}

}  // namespace invariantd
