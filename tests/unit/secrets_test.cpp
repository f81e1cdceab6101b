#include <catch2/catch.hpp>

#include "daemon/common/secrets.hpp"
#include "daemon/common/suggest.hpp"

using namespace invariantd;

TEST_CASE("known secrets are masked wherever they appear", "[secrets]") {
    secret_registry registry;
    registry.replace({"hunter2-password", "hunter2", "ab"});
    CHECK(registry.redact("password=hunter2-password host=db") == "password=<redacted> host=db");
    CHECK(registry.redact("token hunter2 and hunter2") == "token <redacted> and <redacted>");
    CHECK(registry.redact("ab is too short to be treated as a secret") == "ab is too short to be treated as a secret");
    registry.add({"routing-key-123"});
    CHECK(registry.redact("routing-key-123 / hunter2") == "<redacted> / <redacted>");
}

TEST_CASE("typo hints suggest the closest known word", "[secrets]") {
    const std::vector<std::string> keys{"interval", "timeout", "max_samples", "alert"};
    CHECK(closest_match("intervall", keys) == std::optional<std::string>("interval"));
    CHECK(closest_match("timout", keys) == std::optional<std::string>("timeout"));
    CHECK(closest_match("max_sample", keys) == std::optional<std::string>("max_samples"));
    CHECK_FALSE(closest_match("database_url", keys).has_value());
}
