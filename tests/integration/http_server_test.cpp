// The HTTP API of the real daemon binary over real loopback sockets.
#include <catch2/catch.hpp>

#include "daemon/common/time_format.hpp"

#include <cmath>
#include <fstream>
#include <sstream>

#include <sys/resource.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_fixture.hpp"

using namespace invariantd;
using namespace invariantd::test;
using namespace std::chrono_literals;

namespace {

bool first_run_done(std::uint16_t port, const std::string& check) {
    const auto reply = http_get(port, "/api/v1/checks/" + check);
    return reply.status == 200 && !nlohmann::json::parse(reply.body)["last_run"].is_null();
}

}  // namespace

TEST_CASE("every endpoint answers with its status and content type", "[http]") {
    daemon_fixture f(missing_server_check);
    REQUIRE(poll_until([&] { return first_run_done(f.port(), "missing_server"); }));
    // The soft open-file limit is lifted to the hard one at start (connections need
    // descriptors), and the figure is logged.
    {
        std::ifstream limits("/proc/" + std::to_string(f.daemon->pid()) + "/limits");
        std::string line;
        while (std::getline(limits, line) && line.rfind("Max open files", 0) != 0) {
        }
        std::istringstream fields(line.substr(std::string("Max open files").size()));
        std::string soft, hard;
        fields >> soft >> hard;
        CHECK(soft == hard);
        CHECK_THAT(f.daemon->log(), Catch::Contains("open file limit " + soft));
    }

    auto reply = http_get(f.port(), "/metrics");
    CHECK(reply.status == 200);
    CHECK(reply.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(reply.body.find("invariantd_check_value{check=\"missing_server\",database=\"pos\",module=\"sql\"} 2") !=
          std::string::npos);

    reply = http_get(f.port(), "/health");
    CHECK(reply.status == 200);
    CHECK(reply.header("content-type") == "application/json");
    CHECK(nlohmann::json::parse(reply.body)["status"] == "ok");

    reply = http_get(f.port(), "/livez");
    CHECK(reply.status == 200);

    reply = http_get(f.port(), "/api/v1/checks");
    REQUIRE(reply.status == 200);
    auto checks = nlohmann::json::parse(reply.body);
    REQUIRE(checks.size() == 1);
    CHECK(checks[0]["name"] == "missing_server");
    CHECK(checks[0]["module"] == "sql");
    CHECK(checks[0]["database"] == "pos");
    CHECK(checks[0]["interval"] == "1h");
    CHECK(checks[0]["state"] == "firing");
    CHECK(checks[0]["value"] == 2);
    CHECK(checks[0]["error"].is_null());
    CHECK(checks[0].contains("duration_seconds"));
    CHECK(checks[0].contains("last_success"));
    CHECK_FALSE(checks[0].contains("samples"));

    reply = http_get(f.port(), "/api/v1/checks/missing_server");
    REQUIRE(reply.status == 200);
    auto one = nlohmann::json::parse(reply.body);
    CHECK(one["samples"].size() == 2);
    CHECK(one["samples"][0]["id"] == 2);
    CHECK(one["breakdown"].size() == 2);

    reply = http_get(f.port(), "/api/v1/alerts");
    REQUIRE(reply.status == 200);
    auto alerts = nlohmann::json::parse(reply.body);
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0]["dedup_key"] == "invariantd/missing_server");
    CHECK(alerts[0]["state"] == "firing");
    CHECK(alerts[0]["summary"] == "missing_server: value 2 (alert when > 0) on pos");

    reply = http_get(f.port(), "/");
    CHECK(reply.status == 200);
    CHECK(reply.header("content-type") == "text/html; charset=utf-8");
    CHECK(reply.body.find("missing_server") != std::string::npos);

    CHECK(http_get(f.port(), "/api/v1/checks/nope").status == 404);
    CHECK(http_get(f.port(), "/nope").status == 404);
    CHECK(http_get(f.port(), "/nope").header("content-type") == "application/json");
}

TEST_CASE("POST run?wait=1 answers with a fresh run; wrong methods get 405 with Allow", "[http]") {
    daemon_fixture f(missing_server_check);
    REQUIRE(poll_until([&] { return first_run_done(f.port(), "missing_server"); }));
    const auto before = nlohmann::json::parse(http_get(f.port(), "/api/v1/checks/missing_server").body);

    // The data heals; an interval of 1h means only run-now can notice.
    sqlite_exec(f.db_path, "UPDATE sales SET server_id = 1 WHERE server_id IS NULL;");
    auto reply = http_call(f.port(), "POST", "/api/v1/checks/missing_server/run?wait=1");
    REQUIRE(reply.status == 200);
    const auto after = nlohmann::json::parse(reply.body);
    CHECK(after["value"] == 0);
    CHECK(after["state"] == "ok");
    CHECK(after["last_run"] != before["last_run"]);

    reply = http_call(f.port(), "POST", "/api/v1/checks/missing_server/run");
    CHECK(reply.status == 202);

    reply = http_call(f.port(), "GET", "/api/v1/checks/missing_server/run");
    CHECK(reply.status == 405);
    CHECK(reply.header("allow") == "POST, OPTIONS");
    reply = http_call(f.port(), "DELETE", "/metrics");
    CHECK(reply.status == 405);
    CHECK(reply.header("allow") == "GET, HEAD, OPTIONS");
    CHECK(http_call(f.port(), "POST", "/api/v1/checks/nope/run").status == 404);
}

TEST_CASE("HEAD carries GET's headers without a body; OPTIONS answers probes", "[http]") {
    daemon_fixture f(missing_server_check);
    http_connection connection(f.port());
    connection.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    auto head = connection.read_reply(true);
    CHECK(head.status == 200);
    CHECK(std::stoul(head.header("content-length")) > 100);
    CHECK(head.header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
    // The next response on the same connection must start right away: no body was sent.
    connection.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    auto next = connection.read_reply();
    CHECK(next.status == 200);
    CHECK(next.body == "{\"status\":\"ok\"}\n");

    auto options = http_call(f.port(), "OPTIONS", "/");
    CHECK(options.status == 200);
    CHECK(options.header("allow") == "GET, HEAD, OPTIONS");
    http_connection star(f.port());
    star.send("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(star.read_reply().status == 200);
}

TEST_CASE("HTTP/1.0 without Host and keep-alive both work", "[http]") {
    daemon_fixture f(missing_server_check);
    http_connection old(f.port());
    old.send("GET /health HTTP/1.0\r\n\r\n");
    auto reply = old.read_reply();
    CHECK(reply.status == 200);
    CHECK(old.closed_by_peer(5s));  // HTTP/1.0 without keep-alive closes

    http_connection keep(f.port());
    for (int i = 0; i < 3; ++i) {
        keep.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
        CHECK(keep.read_reply().status == 200);
    }
}

TEST_CASE("malformed and oversized requests get 4xx and the daemon keeps running", "[http]") {
    daemon_fixture f(missing_server_check);
    {
        http_connection c(f.port());
        c.send("GARBAGE\r\n\r\n");
        CHECK(c.read_reply().status == 400);
    }
    {
        http_connection c(f.port());
        c.send("GET /metrics HTTP/9.9.9\r\n\r\n");
        CHECK(c.read_reply().status == 400);
    }
    {
        http_connection c(f.port());
        c.send("GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') + "\r\n\r\n");
        CHECK(c.read_reply().status == 431);
    }
    {
        http_connection c(f.port());
        c.send("POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
        CHECK(c.read_reply().status == 413);
    }
    {
        http_connection c(f.port());
        c.send("GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n");
        CHECK(c.read_reply().status == 400);
    }
    {
        http_connection c(f.port());
        c.send(std::string("GET /\x01\x02 HTTP/1.1\r\n\r\n"));
        CHECK(c.read_reply().status == 400);
    }
    CHECK(http_get(f.port(), "/livez").status == 200);
    CHECK(http_get(f.port(), "/health").status == 200);
}

TEST_CASE("idle connections are closed after the idle timeout", "[http]") {
    daemon_fixture f(missing_server_check, "  idle_timeout: 300ms\n  request_timeout: 300ms\n");
    http_connection idle(f.port());
    CHECK(idle.closed_by_peer(10s));
    // A request started but never finished is cut off by the request timeout.
    http_connection slow(f.port());
    slow.send("GET /livez HTTP/1.1\r\nHost:");
    CHECK(slow.closed_by_peer(10s));
    CHECK(http_get(f.port(), "/livez").status == 200);
}

namespace {

std::size_t open_fds(int pid) {
    std::size_t count = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++count;
    return count;
}

}  // namespace

TEST_CASE("idle and half-sent connections never lock out /health: the most idle one is evicted", "[http]") {
    // 2000 client sockets in this process: lift our own descriptor limit to the hard limit.
    rlimit limit{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
    limit.rlim_cur = limit.rlim_max;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
    REQUIRE(limit.rlim_cur > 2200);

    daemon_fixture f(missing_server_check);
    REQUIRE(poll_until([&] { return first_run_done(f.port(), "missing_server"); }));
    const auto baseline = open_fds(f.daemon->pid());
    {
        // 2000 connections, more than the default limit of 1024: 1000 idle, 1000 with a request
        // half sent, the way a slowloris client holds them.
        std::vector<std::unique_ptr<http_connection>> hogs;
        for (int i = 0; i < 2000; ++i) {
            hogs.push_back(std::make_unique<http_connection>(f.port()));
            if (i % 2 == 1) hogs.back()->send("GET /api/v1/checks HTTP/1.1\r\nHost: x\r\nX-Slow:");
        }
        // The daemon takes the 2000 from its listen queue in order and, past 1024, closes the
        // connection waiting longest for each newcomer: the first 976 opened. Once the 976th is
        // closed every connection has been taken in.
        REQUIRE(hogs[975]->closed_by_peer(60s));
        for (int probe = 0; probe < 10; ++probe) {
            const auto began = std::chrono::steady_clock::now();
            const auto reply = http_get(f.port(), "/health");
            const auto took = std::chrono::steady_clock::now() - began;
            CHECK(reply.status == 200);
            CHECK(took < 100ms);
        }
        // The daemon holds no more than its limit, and the oldest connections were the ones closed.
        CHECK(open_fds(f.daemon->pid()) <= baseline + 1024 + 10);
        CHECK(hogs.front()->closed_by_peer(5s));
        CHECK_FALSE(hogs.back()->closed_by_peer(100ms));  // the newest are kept
    }
    // Everything closed by the clients: the daemon's descriptors go back near the baseline.
    CHECK(poll_until([&] { return open_fds(f.daemon->pid()) <= baseline + 5; }));
    CHECK(http_get(f.port(), "/livez").status == 200);
}

TEST_CASE("out of file descriptors, accept evicts the connection waiting longest and /health still answers",
          "[http][emfile]") {
    // UBSan checks a virtual call the first time it sees a type by probing memory through a
    // pipe; with no descriptor left that probe fails and UBSan reports an "invalid vptr" on a
    // sound object ("memory cannot be printed"). The asan-ubsan build makes only the vptr check
    // recoverable; here alone the daemon continues past such reports, and the test fails on any
    // other sanitizer report.
    daemon_fixture f(missing_server_check, "", {{"UBSAN_OPTIONS", "print_stacktrace=0:halt_on_error=0"}});
    REQUIRE(poll_until([&] { return first_run_done(f.port(), "missing_server"); }));
    // Leave the daemon 24 descriptors beyond what it holds now: its connections run out long
    // before max_connections (1024), so accept itself fails with EMFILE.
    const auto limit = std::to_string(open_fds(f.daemon->pid()) + 24);
    const auto lowered = run_command({"prlimit", "--pid", std::to_string(f.daemon->pid()), "--nofile=" + limit + ":" + limit});
    INFO(lowered.err);
    REQUIRE(lowered.exit_code == 0);
    {
        std::vector<std::unique_ptr<http_connection>> hogs;
        for (int i = 0; i < 60; ++i) {
            hogs.push_back(std::make_unique<http_connection>(f.port()));
            if (i % 2 == 1) hogs.back()->send("GET /api/v1/checks HTTP/1.1\r\nHost: x\r\nX-Slow:");
        }
        // Every newcomer past the limit took the descriptor of the connection waiting longest.
        REQUIRE(hogs.front()->closed_by_peer(30s));
        for (int probe = 0; probe < 10; ++probe) CHECK(http_get(f.port(), "/health").status == 200);
        CHECK_FALSE(hogs.back()->closed_by_peer(100ms));  // the newest are kept
        CHECK(open_fds(f.daemon->pid()) <= std::stoul(limit));
    }
    CHECK(poll_until([&] { return http_get(f.port(), "/livez").status == 200; }));
    const auto log = f.daemon->log();
    CHECK_THAT(log, Catch::Contains("http: out of file descriptors; closed the connection waiting longest"));
    // Sanitizer reports, if any, are only the probe failure described above: a member call or
    // access on boost's error_category whose memory UBSan could not probe.
    std::istringstream lines(log);
    bool reported = false;
    for (std::string line; std::getline(lines, line);) {
        if (line.find("runtime error") == std::string::npos && line.find("Sanitizer") == std::string::npos) continue;
        INFO(line);
        reported = true;
        CHECK((line.find("runtime error: member call on address") != std::string::npos ||
               line.find("runtime error: member access within address") != std::string::npos));
        CHECK(line.find("'error_category'") != std::string::npos);
    }
    if (reported) CHECK_THAT(log, Catch::Contains("<memory cannot be printed>"));
    CHECK(log.find("ERROR: AddressSanitizer") == std::string::npos);
}

TEST_CASE("/metrics is gzip-compressed when the client accepts it", "[http]") {
    daemon_fixture f(missing_server_check);
    REQUIRE(poll_until([&] { return first_run_done(f.port(), "missing_server"); }));
    const auto plain = http_get(f.port(), "/metrics");
    const auto zipped = http_get(f.port(), "/metrics", {{"Accept-Encoding", "gzip"}});
    CHECK(zipped.status == 200);
    CHECK(zipped.header("content-encoding") == "gzip");
    CHECK(zipped.body.size() < plain.body.size());
    CHECK(gunzip(zipped.body).find("invariantd_build_info") != std::string::npos);
    CHECK(plain.header("content-encoding").empty());
    // The prepared body and the per-scrape process_* tail: one gzip member with the same
    // series as the plain body (nothing changed in between: the check runs hourly).
    auto series = [](const std::string& text) {
        std::vector<std::string> names;
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("process_", 0) == 0) line = line.substr(0, line.find(' '));  // read per scrape
            names.push_back(line);
        }
        return names;
    };
    const auto unzipped = gunzip(zipped.body);
    CHECK(series(unzipped) == series(plain.body));
    CHECK(unzipped.find("\nprocess_resident_memory_bytes ") != std::string::npos);
}

TEST_CASE("/metrics follows scheduled runs without being asked to wait", "[http][metrics]") {
    daemon_fixture f("  - { name: ticking, module: sql, database: pos, interval: 200ms, params: { mode: scalar, query: "
                     "\"SELECT count(*) FROM sales\" } }\n");
    // The run the API reports last is in the scrapes that follow (within the coalescing delay:
    // polled, not timed).
    for (int i = 0; i < 3; ++i) {
        const auto entry = nlohmann::json::parse(http_get(f.port(), "/api/v1/checks/ticking").body);
        if (entry["last_run"].is_null()) {
            REQUIRE(poll_until([&] {
                return !nlohmann::json::parse(http_get(f.port(), "/api/v1/checks/ticking").body)["last_run"].is_null();
            }));
            continue;
        }
        const auto last_run = parse_rfc3339(entry["last_run"].get<std::string>());
        REQUIRE(last_run);
        const double api_seconds = std::floor(unix_seconds(*last_run) * 1000.0) / 1000.0;
        REQUIRE(poll_until([&] {
            const auto text = http_get(f.port(), "/metrics").body;
            return metric_value(text, "invariantd_check_last_run_timestamp_seconds{check=\"ticking\"}").value_or(0) >=
                   api_seconds;
        }));
    }
}

TEST_CASE("with an api_token, /api and /-/ need the bearer token; probes and metrics stay open", "[http]") {
    daemon_fixture f(missing_server_check, "  api_token: ${TEST_API_TOKEN}\n", {{"TEST_API_TOKEN", "tok-3a9f-secret"}});
    CHECK(http_get(f.port(), "/api/v1/checks").status == 401);
    CHECK(http_get(f.port(), "/api/v1/checks", {{"Authorization", "Bearer wrong"}}).status == 401);
    CHECK(http_call(f.port(), "POST", "/-/reload").status == 401);
    CHECK(http_get(f.port(), "/api/v1/checks", {{"Authorization", "Bearer tok-3a9f-secret"}}).status == 200);
    CHECK(http_get(f.port(), "/metrics").status == 200);
    CHECK(http_get(f.port(), "/health").status == 200);
    CHECK(http_get(f.port(), "/livez").status == 200);
    CHECK(f.daemon->log().find("tok-3a9f-secret") == std::string::npos);
}
