// TLS to PostgreSQL (issue #16): the test cluster runs with ssl=on and a certificate for
// "localhost" from a CA the test suite made (tests/support/pg_cluster.sh).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

std::string setting(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr)
        throw std::runtime_error(std::string(name) + " is not set: run the tests through ./tests/run.sh");
    return value;
}

std::string tls_dsn(const std::string& host, const std::string& root_cert) {
    return "host=" + host + " port=" + pg_port() +
           " dbname=invariantd_test user=invariantd_test password=" + pg_password() +
           " sslmode=verify-full sslrootcert=" + root_cert;
}

}  // namespace

TEST_CASE(
    "postgres over TLS: verify-full with the CA connects; a wrong host name or an untrusted CA is a clear, "
    "secret-free error in /health",
    "[postgres][tls]") {
    const auto ca = setting("INVARIANTD_TEST_PG_CA");
    const auto other_ca = setting("INVARIANTD_TEST_PG_OTHER_CA");
    temp_dir dir;
    // The check reports whether its own connection is encrypted.
    const std::string query = "SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl";
    std::string checks;
    for (const auto* name : {"good", "wrong_host", "wrong_ca"})
        checks += std::string("  - { name: ") + name + ", module: sql, database: " + name +
                  ", interval: 1h, params: { mode: scalar, query: \"" + query + "\" } }\n";
    const auto config = dir.write("invariantd.yaml",
                                  "server: { listen: \"127.0.0.1:0\" }\nstate_dir: state\ndatabases:\n"
                                  "  good: { driver: postgres, dsn: ${GOOD_DSN} }\n"
                                  "  wrong_host: { driver: postgres, dsn: ${WRONG_HOST_DSN} }\n"
                                  "  wrong_ca: { driver: postgres, dsn: ${WRONG_CA_DSN} }\n"
                                  "checks:\n" +
                                      checks);
    daemon_process daemon(config, (dir.path() / "daemon.log").string(),
                          {{"GOOD_DSN", tls_dsn("localhost", ca)},
                           {"WRONG_HOST_DSN", tls_dsn("127.0.0.1", ca)},
                           {"WRONG_CA_DSN", tls_dsn("localhost", other_ca)}});
    nlohmann::json health;
    REQUIRE(poll_until(
        [&] {
            health = nlohmann::json::parse(http_get(daemon.port(), "/health").body);
            return health["databases"]["wrong_host"]["up"] == false &&
                   health["databases"]["wrong_ca"]["up"] == false;
        },
        30s));
    const auto good = nlohmann::json::parse(http_get(daemon.port(), "/api/v1/checks/good").body);
    CHECK(good["value"] == 1);  // connected, and encrypted
    CHECK(health["databases"]["good"]["up"] == true);
    const auto wrong_host = health["databases"]["wrong_host"]["error"].get<std::string>();
    const auto wrong_ca = health["databases"]["wrong_ca"]["error"].get<std::string>();
    CHECK_THAT(wrong_host, Catch::Contains("cannot connect to database 'wrong_host'"));
    CHECK_THAT(wrong_host, Catch::Contains("does not match host name \"127.0.0.1\""));
    CHECK_THAT(wrong_ca, Catch::Contains("cannot connect to database 'wrong_ca'"));
    CHECK_THAT(wrong_ca, Catch::Contains("certificate verify failed"));
    for (const auto& text :
         {wrong_host, wrong_ca, daemon.log(), http_get(daemon.port(), "/api/v1/checks").body})
        CHECK_THAT(text, !Catch::Contains(pg_password()));
}
