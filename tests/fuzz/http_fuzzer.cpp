// The HTTP API from raw bytes, no network: the bytes go through Beast's request parser with
// the server's limits, then through the real API of a started daemon (one SQLite database,
// three checks, a bearer token) exactly as the server would pass them. Findings: a crash, a
// sanitizer report, an exception escaping the handler (the server would drop the connection
// without an answer), a 5xx other than /health's 503, an answer outside 200–599, or a JSON
// answer that does not parse.
#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "daemon/config/loader.hpp"
#include "daemon/core/daemon_app.hpp"

namespace {

using namespace invariantd;

void require(bool condition) {
    if (!condition) std::abort();
}

struct harness {
    asio::io_context loop;
    daemon_app* app = nullptr;  // never destroyed: worker threads may still run at exit
    http_api* api = nullptr;

    harness() {
        spdlog::set_level(spdlog::level::off);
        char pattern[] = "/tmp/invariantd-http-fuzz.XXXXXX";
        const std::filesystem::path dir = mkdtemp(pattern);
        sqlite3* db = nullptr;
        require(sqlite3_open((dir / "app.db").c_str(), &db) == SQLITE_OK);
        require(sqlite3_exec(db,
                             "CREATE TABLE orders(id INTEGER PRIMARY KEY, total REAL, note TEXT);"
                             "INSERT INTO orders VALUES (1, -5, 'refund'), (2, 10, 'ok'), (3, -1, x'ff');",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
        const auto config_path = dir / "invariantd.yaml";
        std::ofstream(config_path) << R"(server: { listen: "127.0.0.1:0", api_token: "fuzz-token" }
state_dir: state
databases:
  app: { driver: sqlite, path: app.db }
checks:
  - name: negative_orders
    module: sql
    database: app
    interval: 1h
    params: { mode: rows, query: "SELECT id, total, note FROM orders WHERE total < 0", key_columns: [id] }
    alert: { when: "> 0", summary: "{{value}} negative orders" }
  - name: order_total
    module: sql
    database: app
    interval: 1h
    params: { mode: scalar, query: "SELECT sum(total) FROM orders" }
    alert: { when: "< 0" }
  - name: broken
    module: sql
    database: app
    interval: 1h
    params: { mode: scalar, query: "SELECT * FROM missing_table" }
)";
        app = new daemon_app(loop, config_path.string(), config::load_config_file(config_path.string()));
        app->start();
        api = new http_api(*app);
        // The harness is only worth its runs if requests reach the checks behind the token.
        http_request probe{http::verb::get, "/api/v1/checks/negative_orders", 11};
        probe.set(http::field::authorization, "Bearer fuzz-token");
        const auto answer_to_probe = answer(probe);
        require(answer_to_probe.result() == http::status::ok &&
                answer_to_probe.body().find("negative_orders") != std::string::npos);
    }

    http_response answer(const http_request& request) {
        std::optional<http_response> response;
        std::exception_ptr failure;
        asio::co_spawn(loop, api->handle(request), [&](std::exception_ptr error, http_response made) {
            failure = error;
            response = std::move(made);
        });
        loop.restart();
        while (!response && !failure) loop.run_one();
        if (failure) std::abort();  // the server would close the connection without an answer
        return std::move(*response);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static harness daemon;
    const http_limits limits;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (used < size && !parser.is_done() && !ec)
        used += parser.put(asio::buffer(data + used, size - used), ec);
    if (ec == http::error::need_more) ec = {};
    if (!parser.is_done()) {
        if (ec) {
            // A malformed request is answered with a 4xx, or the connection just ends.
            if (auto status = rejection_status(ec)) require(static_cast<unsigned>(*status) / 100 == 4);
        }
        return 0;
    }
    const http_request& request = parser.get();
    const http_response response = daemon.answer(request);
    const unsigned status = response.result_int();
    require(status >= 200 && status <= 599);
    require(status < 500 || status == 503);
    const auto type = response[http::field::content_type];
    if (std::string_view(type.data(), type.size()).rfind("application/json", 0) == 0 && !response.body().empty())
        require(!nlohmann::json::parse(response.body(), nullptr, false).is_discarded());
    return 0;
}
