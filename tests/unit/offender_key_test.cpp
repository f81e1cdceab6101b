// Offender keys (README "Offenders"): valid UTF-8, bounded length, JSON-array keys.
#include <catch2/catch.hpp>

#include <openssl/sha.h>

#include <fmt/format.h>

#include "checks/module_support.hpp"

using namespace invariantd;
using namespace invariantd::checks;

TEST_CASE("offender keys are valid UTF-8 and at most 512 bytes", "[offenders]") {
    CHECK(offender_key("1004") == "1004");
    CHECK(offender_key("caf\xC3\xA9") == "caf\xC3\xA9");                 // valid two-byte sequence kept
    CHECK(offender_key("a\xFF" "b") == "a\xEF\xBF\xBD" "b");            // invalid byte → U+FFFD
    CHECK(offender_key("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");       // overlong form
    CHECK(offender_key("\xED\xA0\x80").find("\xEF\xBF\xBD") == 0);       // a surrogate
    const std::string exact(512, 'k');
    CHECK(offender_key(exact) == exact);
    const std::string long_key(513, 'k');
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(long_key.data()), long_key.size(), digest);
    std::string expected = "sha256:";
    for (unsigned char byte : digest) expected += fmt::format("{:02x}", byte);
    CHECK(offender_key(long_key) == expected);
    CHECK(offender_key(long_key).size() == 7 + 64);
}

TEST_CASE("JSON-array keys hold the values' text forms, NULL as null", "[offenders]") {
    CHECK(json_array_key({db::value(std::string("c1")), db::value(std::string("t9"))}) == R"(["c1","t9"])");
    CHECK(json_array_key({db::value(std::int64_t{5}), db::value(std::int64_t{3})}) == R"(["5","3"])");
    CHECK(json_array_key({db::value(nullptr), db::value(std::string("a\"b"))}) == R"([null,"a\"b"])");
}
