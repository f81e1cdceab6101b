// Cluster mode's pure parts: the SPEC §12 rendezvous score (fixed test vectors computed
// independently with Python's hashlib: int.from_bytes(sha256(m + b"\0" + i)[:8], "big")),
// owners that only move with the member that came or went, and the cluster section.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "daemon/cluster/cluster_schema.hpp"
#include "daemon/cluster/rendezvous.hpp"
#include "daemon/config/loader.hpp"

using invariantd::cluster::rendezvous_owner;
using invariantd::cluster::rendezvous_score;

TEST_CASE("rendezvous score: the first 8 bytes of SHA-256(member NUL instance), big-endian", "[cluster]") {
    CHECK(rendezvous_score("a", "c1") == 15273279176290880475ULL);
    CHECK(rendezvous_score("b", "c1") == 12846692644962641093ULL);
    CHECK(rendezvous_score("invariantd-0", "shift_coverage") == 2733739763185459632ULL);
    CHECK(rendezvous_score("pod-7f9c", "missing_server/tenant_a") == 11899322012305420304ULL);
    CHECK(rendezvous_score("", "") == 7940984811893783192ULL);
    // The separator matters: "ab" + "c" is not "a" + "bc".
    CHECK(rendezvous_score("ab", "c") != rendezvous_score("a", "bc"));
    CHECK(rendezvous_owner({"b", "a"}, "c1") == std::optional<std::string>("a"));
    CHECK(rendezvous_owner({}, "c1") == std::nullopt);
}

TEST_CASE("rendezvous owners: a member leaving moves only its checks, one joining takes only checks it wins",
          "[cluster]") {
    const std::vector<std::string> three{"a", "b", "c"};
    const std::vector<std::string> two{"a", "c"};
    const std::vector<std::string> four{"a", "b", "c", "d"};
    std::map<std::string, int> spread;
    for (int i = 0; i < 3000; ++i) {
        const auto check = "check_" + std::to_string(i);
        const auto owner = *rendezvous_owner(three, check);
        ++spread[owner];
        const auto after_leave = *rendezvous_owner(two, check);
        if (owner != "b") CHECK(after_leave == owner);
        const auto after_join = *rendezvous_owner(four, check);
        if (after_join != "d") CHECK(after_join == owner);
    }
    // Roughly even: each of three members owns between 25 % and 42 % of 3 000 checks.
    for (const auto& [member, count] : spread) {
        CHECK(count > 750);
        CHECK(count < 1260);
    }
}

TEST_CASE("cluster section: defaults, the host name as member, and the init script", "[cluster][config]") {
    const std::string db = "databases:\n  coord: { driver: postgres, dsn: \"host=x\" }\n";
    const auto config =
        invariantd::config::load_config_text(db + "cluster: { database: coord }\n", "t.yaml", "/tmp");
    REQUIRE(config.cluster);
    CHECK(config.cluster->schema == "invariantd");
    CHECK(config.cluster->lease == std::chrono::seconds(15));
    char host[256] = {};
    REQUIRE(gethostname(host, sizeof host - 1) == 0);
    CHECK(config.cluster->member == host);
    const auto custom = invariantd::config::load_config_text(
        db + "cluster: { database: coord, schema: ops_inv, member: pod-1, lease: 4s }\n", "t.yaml", "/tmp");
    CHECK(custom.cluster->schema == "ops_inv");
    CHECK(custom.cluster->member == "pod-1");
    CHECK(custom.cluster->lease == std::chrono::seconds(4));
    CHECK_FALSE(invariantd::config::load_config_text(db, "t.yaml", "/tmp").cluster);

    const auto script = invariantd::cluster::init_script("ops_inv");
    CHECK_THAT(script, Catch::StartsWith("-- invariantd cluster schema, version 1"));
    CHECK_THAT(script, Catch::Contains("CREATE TABLE IF NOT EXISTS \"ops_inv\".members"));
    CHECK_THAT(script, Catch::Contains("pg_advisory_xact_lock"));
    CHECK_THAT(script, Catch::EndsWith("COMMIT;\n"));
}
