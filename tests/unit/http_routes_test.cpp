#include <catch2/catch.hpp>

#include "daemon/core/http_routes.hpp"

using namespace invariantd;

TEST_CASE("paths map onto routes with their allowed methods", "[http]") {
    CHECK(match_route("/").target == route::status_page);
    CHECK(match_route("/metrics").target == route::metrics);
    CHECK(match_route("/health").target == route::health);
    CHECK(match_route("/livez").target == route::livez);
    CHECK(match_route("/api/v1/checks").target == route::checks);
    CHECK(match_route("/api/v1/alerts").target == route::alerts);
    CHECK(match_route("/-/reload").target == route::reload);
    CHECK(match_route("/-/reload").allow == "POST, OPTIONS");

    const auto check = match_route("/api/v1/checks/shift_coverage");
    CHECK(check.target == route::check);
    CHECK(check.check_name == "shift_coverage");
    CHECK(check.allow == "GET, HEAD, OPTIONS");
    const auto run = match_route("/api/v1/checks/shift_coverage/run");
    CHECK(run.target == route::run_check);
    CHECK(run.check_name == "shift_coverage");

    // A database set's instance "<check>/<member>", the member percent-decoded.
    const auto member = match_route("/api/v1/checks/missing_server/tenant%2Da");
    CHECK(member.target == route::check);
    CHECK(member.check_name == "missing_server/tenant-a");
    const auto member_run = match_route("/api/v1/checks/missing_server/tenant_a/run");
    CHECK(member_run.target == route::run_check);
    CHECK(member_run.check_name == "missing_server/tenant_a");
    CHECK(match_route("/api/v1/checks/c/tenant_a/offenders").target == route::offenders);
    CHECK(match_route("/api/v1/checks/c/tenant_a/history").check_name == "c/tenant_a");
    CHECK(match_route("/checks/c/tenant_a").target == route::check_page);

    for (const char* unknown : {"/metricsx", "/api/v1/checks/Bad-Name", "/api/v1/checks/a/b/c", "/api/v1/checks/a/",
                                "/api/v1/checks/a/%zz", "/api/v1/checks/a/x%2Fy", "/api/v2/checks", "//"}) {
        INFO(unknown);
        CHECK(match_route(unknown).target == route::not_found);
    }
}

TEST_CASE("only /api/* and /-/* are protected by the API token", "[http]") {
    CHECK(match_route("/api/v1/checks").protected_by_token);
    CHECK(match_route("/api/v1/checks/x/run").protected_by_token);
    CHECK(match_route("/-/reload").protected_by_token);
    CHECK(match_route("/api/unknown").protected_by_token);
    CHECK_FALSE(match_route("/metrics").protected_by_token);
    CHECK_FALSE(match_route("/health").protected_by_token);
    CHECK_FALSE(match_route("/livez").protected_by_token);
}

TEST_CASE("targets split into path and query parameters", "[http]") {
    auto [path, query] = split_target("/api/v1/checks/x/run?wait=1&debug");
    CHECK(path == "/api/v1/checks/x/run");
    CHECK(query == "wait=1&debug");
    CHECK(query_parameter(query, "wait") == std::optional<std::string>("1"));
    CHECK(query_parameter(query, "debug") == std::optional<std::string>(""));
    CHECK_FALSE(query_parameter(query, "wai").has_value());
    CHECK(split_target("/metrics").second.empty());
}

TEST_CASE("Accept-Encoding negotiation for gzip", "[http]") {
    CHECK(accepts_gzip("gzip"));
    CHECK(accepts_gzip("deflate, gzip;q=1.0, *;q=0.5"));
    CHECK(accepts_gzip("GZIP"));
    CHECK(accepts_gzip("identity, *"));
    CHECK_FALSE(accepts_gzip(""));
    CHECK_FALSE(accepts_gzip("identity"));
    CHECK_FALSE(accepts_gzip("gzip;q=0"));
    CHECK_FALSE(accepts_gzip("gzip; q=0.000"));
    CHECK_FALSE(accepts_gzip("x-gzip2"));
}

TEST_CASE("bearer tokens must match exactly", "[http]") {
    CHECK(bearer_matches("Bearer s3cret-token", "s3cret-token"));
    CHECK(bearer_matches("bearer s3cret-token", "s3cret-token"));
    CHECK_FALSE(bearer_matches("Bearer s3cret-toke", "s3cret-token"));
    CHECK_FALSE(bearer_matches("Bearer s3cret-tokenX", "s3cret-token"));
    CHECK_FALSE(bearer_matches("Basic czNjcmV0", "s3cret-token"));
    CHECK_FALSE(bearer_matches("", "s3cret-token"));
    CHECK_FALSE(bearer_matches("s3cret-token", "s3cret-token"));
}
