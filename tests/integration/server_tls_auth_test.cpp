// HTTPS and basic auth on the daemon's own port (SPEC §3 server.tls, server.basic_auth):
// a real Prometheus scrapes over HTTPS with basic auth, curl plays the other clients, the
// silence CLI speaks HTTPS with basic auth and a client certificate, and a reload re-reads
// rotated certificates.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "daemon/common/bcrypt.hpp"
#include "tests/support/daemon_fixture.hpp"
#include "tests/support/prometheus_server.hpp"
#include "tests/support/test_pki.hpp"

using namespace invariantd::test;

namespace {

struct curl_result {
    int exit_code = -1;  ///< curl's: 0 an answer arrived; 35/56/58… the TLS handshake failed
    int status = 0;
    std::string body;
};

/// One HTTPS request with curl to https://localhost:<port><path>.
curl_result curl(std::uint16_t port, const std::string& path, const std::vector<std::string>& options) {
    std::vector<std::string> argv{"curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("https://localhost:" + std::to_string(port) + path);
    const auto run = run_command(argv);
    curl_result result{run.exit_code, 0, run.out};
    if (const auto newline = run.out.rfind('\n'); newline != std::string::npos) {
        result.status = std::atoi(run.out.c_str() + newline + 1);
        result.body = run.out.substr(0, newline);
    }
    return result;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
    return count;
}

std::string tls_lines(const test_pki& pki, const std::string& client_ca = "") {
    std::string lines = "  tls: { cert_file: \"" + pki.cert("localhost") + "\", key_file: \"" + pki.key("localhost") + "\"";
    if (!client_ca.empty()) lines += ", client_ca_file: \"" + client_ca + "\"";
    return lines + " }\n";
}

}  // namespace

TEST_CASE("HTTPS with basic auth: Prometheus scrapes with the password, probes need none, a wrong one gets 401",
          "[tls][auth][prometheus][e2e]") {
    test_pki pki({"localhost"});
    const std::string hash = invariantd::bcrypt_hash("scrape-pass", 10);
    daemon_fixture fixture(missing_server_check,
                           tls_lines(pki) + "  basic_auth: { users: { prometheus: \"" + hash + "\" } }\n");
    const auto port = fixture.port();
    const std::vector<std::string> ca{"--cacert", pki.ca()};

    // Probes reach the exempt paths without credentials; everything else needs them.
    CHECK(curl(port, "/health", ca).status == 200);
    CHECK(curl(port, "/livez", ca).status == 200);
    auto anonymous = curl(port, "/metrics", ca);
    CHECK(anonymous.status == 401);
    auto headers = run_command({"curl", "-sS", "-o", "/dev/null", "-D", "-", "--cacert", pki.ca(),
                                "https://localhost:" + std::to_string(port) + "/api/v1/checks"});
    CHECK(headers.out.find("WWW-Authenticate: Basic realm=\"invariantd\"") != std::string::npos);
    auto wrong = [&] { return curl(port, "/metrics", {"--cacert", pki.ca(), "-u", "prometheus:wrong"}); };
    CHECK(wrong().status == 401);
    CHECK(curl(port, "/metrics", {"--cacert", pki.ca(), "-u", "nobody:scrape-pass"}).status == 401);
    const auto good = curl(port, "/metrics", {"--cacert", pki.ca(), "-u", "prometheus:scrape-pass"});
    CHECK(good.status == 200);
    CHECK(good.body.find("invariantd_check_value{check=\"missing_server\"") != std::string::npos);
    // The password never reaches the log.
    CHECK(fixture.daemon->log().find("scrape-pass") == std::string::npos);
    // Plain HTTP on the HTTPS port gets no answer.
    CHECK(http_get(port, "/health").status != 200);
    // An untrusted server certificate is refused by the client.
    test_pki other({"localhost"});
    CHECK(curl(port, "/health", {"--cacert", other.ca()}).exit_code != 0);

    // The real Prometheus: one job with the password, one with a wrong one.
    temp_dir work;
    const std::string tls_job = "    scheme: https\n    tls_config: { ca_file: \"" + pki.ca() + "\" }\n";
    prometheus_server prometheus(
        work, {{"invariantd", "localhost:" + std::to_string(port),
                tls_job + "    basic_auth: { username: prometheus, password: scrape-pass }\n"},
               {"wrong_password", "localhost:" + std::to_string(port),
                tls_job + "    basic_auth: { username: prometheus, password: nope }\n"}});
    INFO(prometheus.log());
    const auto sample = [&](const std::string& promql) -> std::optional<double> {
        const auto answer = prometheus.query(promql);
        if (answer.value("status", "") != "success" || answer["data"]["result"].size() != 1) return std::nullopt;
        return std::stod(answer["data"]["result"][0]["value"][1].get<std::string>());
    };
    REQUIRE(poll_until([&] { return sample("invariantd_check_value{check=\"missing_server\"}") == 2.0; },
                       std::chrono::seconds(30)));
    REQUIRE(poll_until([&] { return sample("up{job=\"invariantd\"}") == 1.0; }, std::chrono::seconds(30)));
    REQUIRE(poll_until([&] { return sample("up{job=\"wrong_password\"}") == 0.0; }, std::chrono::seconds(30)));
    // Let several scrapes pass: bcrypt accepted the password once (for curl above); every
    // later request with it, Prometheus' scrapes included, was answered from the cache.
    REQUIRE(poll_until([&] { return sample("count_over_time(up{job=\"invariantd\"}[1m])").value_or(0) >= 5; },
                       std::chrono::seconds(30)));
    CHECK(count_of(fixture.daemon->log(), "basic auth: bcrypt accepted user 'prometheus'") == 1);
}

TEST_CASE("a required client certificate: refused without one or with a foreign one; the silence CLI speaks "
          "HTTPS, basic auth and client certificates",
          "[tls][auth][cli]") {
    test_pki pki({"localhost", "client"});
    test_pki foreign({"client"});
    const std::string hash = invariantd::bcrypt_hash("cli-pass", 10);
    daemon_fixture fixture(missing_server_check, tls_lines(pki, pki.ca()) +
                                                     "  basic_auth: { users: { oncall: \"" + hash + "\" } }\n");
    const auto port = fixture.port();
    const std::vector<std::string> with_cert{"--cacert", pki.ca(), "--cert", pki.cert("client"), "--key",
                                             pki.key("client")};

    // Without a certificate the handshake is refused: no HTTP answer at all, even on /livez.
    const auto without = curl(port, "/livez", {"--cacert", pki.ca()});
    CHECK(without.exit_code != 0);
    CHECK(without.status == 0);
    const auto foreign_cert = curl(port, "/livez", {"--cacert", pki.ca(), "--cert", foreign.cert("client"), "--key",
                                                    foreign.key("client")});
    CHECK(foreign_cert.exit_code != 0);
    CHECK(foreign_cert.status == 0);
    // With one: exempt paths need nothing more, the rest basic auth too.
    CHECK(curl(port, "/livez", with_cert).status == 200);
    CHECK(curl(port, "/api/v1/checks", with_cert).status == 401);

    const std::string url = "https://localhost:" + std::to_string(port);
    const std::vector<std::string> tls_options{"--url", url, "--ca-file", pki.ca(), "--cert", pki.cert("client"),
                                               "--key", pki.key("client"), "--user", "oncall"};
    const auto cli = [&](std::vector<std::string> args, const std::string& password,
                         const std::vector<std::string>& options) {
        std::vector<std::string> argv{daemon_binary(), "silence"};
        argv.insert(argv.end(), args.begin(), args.end());
        argv.insert(argv.end(), options.begin(), options.end());
        return run_command(argv, "", {{"INVARIANTD_PASSWORD", password}});
    };
    const auto added = cli({"add", "--check", "missing_*", "--for", "1h", "--comment", "over TLS"}, "cli-pass", tls_options);
    INFO(added.err);
    REQUIRE(added.exit_code == 0);
    const std::string id = added.out.substr(0, added.out.find('\n'));
    const auto listed = cli({"list"}, "cli-pass", tls_options);
    CHECK(listed.exit_code == 0);
    CHECK(listed.out.find(id) != std::string::npos);
    // A wrong password is the daemon's refusal (1); no client certificate means no daemon (2).
    CHECK(cli({"list"}, "wrong", tls_options).exit_code == 1);
    auto no_cert = std::vector<std::string>{"--url", url, "--ca-file", pki.ca(), "--user", "oncall"};
    const auto refused = cli({"list"}, "cli-pass", no_cert);
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("cli-pass") == std::string::npos);
    CHECK(fixture.daemon->log().find("cli-pass") == std::string::npos);
}

TEST_CASE("a reload re-reads the certificate files; files that no longer load fail the reload and the old "
          "certificate stays",
          "[tls][reload]") {
    test_pki first({"localhost"});
    test_pki second({"localhost"});
    temp_dir files;
    const auto cert = (files.path() / "tls.crt").string();
    const auto key = (files.path() / "tls.key").string();
    namespace fs = std::filesystem;
    fs::copy_file(first.cert("localhost"), cert);
    fs::copy_file(first.key("localhost"), key);
    daemon_fixture fixture(missing_server_check, "  tls: { cert_file: \"" + cert + "\", key_file: \"" + key + "\" }\n");
    const auto port = fixture.port();
    REQUIRE(curl(port, "/health", {"--cacert", first.ca()}).status == 200);
    CHECK(curl(port, "/health", {"--cacert", second.ca()}).exit_code != 0);

    // Rotated: the new pair is served to new connections after a reload.
    fs::copy_file(second.cert("localhost"), cert, fs::copy_options::overwrite_existing);
    fs::copy_file(second.key("localhost"), key, fs::copy_options::overwrite_existing);
    CHECK(curl(port, "/-/reload", {"--cacert", first.ca(), "-X", "POST"}).status == 200);
    CHECK(curl(port, "/health", {"--cacert", second.ca()}).status == 200);
    CHECK(curl(port, "/health", {"--cacert", first.ca()}).exit_code != 0);

    // A key that does not match the certificate: the reload fails and says why, nothing changes.
    fs::copy_file(first.key("localhost"), key, fs::copy_options::overwrite_existing);
    const auto failed = curl(port, "/-/reload", {"--cacert", second.ca(), "-X", "POST"});
    CHECK(failed.status == 500);
    INFO(failed.body);
    CHECK(failed.body.find("key values mismatch") != std::string::npos);
    CHECK(failed.body.find(":3:8: 'server.tls'") != std::string::npos);  // positioned, like any config error
    CHECK(failed.body.find("BEGIN") == std::string::npos);  // no key material in the answer
    CHECK(curl(port, "/health", {"--cacert", second.ca()}).status == 200);
    CHECK(curl(port, "/metrics", {"--cacert", second.ca()}).body.find("invariantd_config_last_reload_successful 0") !=
          std::string::npos);
}
