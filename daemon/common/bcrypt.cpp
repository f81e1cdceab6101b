#include "daemon/common/bcrypt.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <memory>
#include <stdexcept>

namespace invariantd {

bool is_bcrypt_hash(std::string_view hash) {
    if (hash.size() != 60) return false;
    if (hash.substr(0, 4) != "$2a$" && hash.substr(0, 4) != "$2b$" && hash.substr(0, 4) != "$2y$") return false;
    const std::string text(hash);
    return crypt_checksalt(text.c_str()) == CRYPT_SALT_OK;
}

bool bcrypt_matches(const std::string& password, const std::string& hash) {
    // crypt_data is ~32 KB: on the heap, one per call, so concurrent callers never share it.
    auto data = std::make_unique<crypt_data>();
    const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
    if (computed == nullptr || computed[0] == '*') return false;
    const std::string_view result(computed);
    return result.size() == hash.size() && CRYPTO_memcmp(result.data(), hash.data(), hash.size()) == 0;
}

std::string bcrypt_hash(const std::string& password, unsigned cost) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) == nullptr)
        throw std::runtime_error("cannot make a bcrypt salt");
    auto data = std::make_unique<crypt_data>();
    const char* hashed = crypt_r(password.c_str(), salt, data.get());
    if (hashed == nullptr || hashed[0] == '*') throw std::runtime_error("bcrypt failed");
    return hashed;
}

}  // namespace invariantd
