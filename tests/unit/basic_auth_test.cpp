// server.basic_auth's pieces: the Authorization header parser and bcrypt through libxcrypt.
#include <catch2/catch.hpp>

#include "daemon/common/bcrypt.hpp"
#include "daemon/core/basic_auth.hpp"

using namespace invariantd;

TEST_CASE("Basic credentials are parsed from the Authorization header, anything else is refused", "[auth]") {
    using pair = std::pair<std::string, std::string>;
    CHECK(basic_credentials("Basic cHJvbWV0aGV1czpzM2NyZXQ=") == pair{"prometheus", "s3cret"});  // prometheus:s3cret
    CHECK(basic_credentials("basic cHJvbWV0aGV1czpzM2NyZXQ=") == pair{"prometheus", "s3cret"});  // scheme case
    CHECK(basic_credentials("Basic YTpiOmM=") == pair{"a", "b:c"});  // the password may hold ':'
    CHECK(basic_credentials("Basic Ojo=") == pair{"", ":"});         // "::"
    CHECK(basic_credentials("Basic YWI=") == std::nullopt);          // "ab": no colon
    CHECK(basic_credentials("Basic !!!!") == std::nullopt);          // not base64
    CHECK(basic_credentials("Basic abc") == std::nullopt);           // not a multiple of 4
    CHECK(basic_credentials("Bearer cHJvbWV0aGV1czpzM2NyZXQ=") == std::nullopt);
    CHECK(basic_credentials("Basic ") == std::nullopt);
    CHECK(basic_credentials("") == std::nullopt);
}

TEST_CASE("bcrypt hashes verify their password only, and malformed hashes are recognised", "[auth]") {
    const auto hash = bcrypt_hash("correct horse", 4);
    CHECK(is_bcrypt_hash(hash));
    CHECK(bcrypt_matches("correct horse", hash));
    CHECK_FALSE(bcrypt_matches("correct hors", hash));
    CHECK_FALSE(bcrypt_matches("", hash));
    // htpasswd -nbBC 10 writes $2y$; Python's bcrypt $2b$: both are accepted.
    CHECK(is_bcrypt_hash("$2y$10$" + hash.substr(7)));
    CHECK_FALSE(is_bcrypt_hash("$1$abc$def"));
    CHECK_FALSE(is_bcrypt_hash("plain-password"));
    CHECK_FALSE(is_bcrypt_hash(hash.substr(0, 59)));
    CHECK_FALSE(bcrypt_matches("x", "not a hash"));
}
