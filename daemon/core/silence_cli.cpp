#include "daemon/core/silence_cli.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "daemon/alerting/http_client.hpp"
#include "daemon/common/duration.hpp"
#include "daemon/common/time_format.hpp"

namespace invariantd {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr int exit_done = 0;
constexpr int exit_rejected = 1;
constexpr int exit_unreachable = 2;
constexpr int exit_usage = 64;

constexpr const char* silence_usage = R"(usage:
  invariantd silence add --check NAME_OR_GLOB [--check ...] (--for DURATION | --until RFC3339)
                         --comment TEXT [--by NAME] [--json]
  invariantd silence list [--json]
  invariantd silence expire ID
options for all three:
  --url URL        the daemon (default http://127.0.0.1:9898)
  --ca-file FILE   CA certificates for an https daemon (default: the system's)
  --cert FILE --key FILE   a client certificate
  --user NAME      basic auth, the password from INVARIANTD_PASSWORD
the API token comes from INVARIANTD_API_TOKEN.
exit codes: 0 done, 1 rejected by the daemon, 2 daemon unreachable, 64 usage
)";

struct cli_options {
    std::string action;
    std::string url = "http://127.0.0.1:9898";
    std::vector<std::string> checks;
    std::optional<std::string> for_duration, until, comment, by, id, ca_file, cert_file, key_file, user;
    bool json = false;
};

struct reply {
    int status = 0;
    std::string body;
};

/// The daemon could not be reached (connection, TLS or protocol failure).
struct unreachable : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string base64(const std::string& text) {
    std::string out(4 * ((text.size() + 2) / 3), '\0');
    const int length =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

template <typename Stream>
reply exchange(Stream& stream, http::request<http::string_body>& request) {
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    return {static_cast<int>(response.result_int()), response.body()};
}

/// One request to the daemon's API, blocking (the CLI has no event loop to keep free).
reply call(const cli_options& opts, http::verb method, const std::string& path,
           const std::string& body = {}) {
    const auto url = parse_url(opts.url);
    if (!url) throw unreachable(fmt::format("--url '{}' is not an http:// or https:// URL", opts.url));
    http::request<http::string_body> request{method, url->target == "/" ? path : url->target + path, 11};
    request.set(http::field::host, url->host);
    request.set(http::field::user_agent, "invariantd-cli");
    if (const char* token = std::getenv("INVARIANTD_API_TOKEN"); token != nullptr && *token != '\0') {
        request.set(http::field::authorization, std::string("Bearer ") + token);
    } else if (opts.user) {
        const char* password = std::getenv("INVARIANTD_PASSWORD");
        request.set(http::field::authorization,
                    "Basic " + base64(*opts.user + ":" + (password ? password : "")));
    }
    if (!body.empty()) {
        request.set(http::field::content_type, "application/json");
        request.body() = body;
    }
    request.prepare_payload();
    try {
        asio::io_context io;
        asio::ip::tcp::resolver resolver(io);
        const auto endpoints = resolver.resolve(url->host, url->port);
        if (!url->tls) {
            beast::tcp_stream stream(io);
            stream.connect(endpoints);
            return exchange(stream, request);
        }
        asio::ssl::context tls(asio::ssl::context::tls_client);
        tls.set_verify_mode(asio::ssl::verify_peer);
        if (opts.ca_file)
            tls.load_verify_file(*opts.ca_file);
        else
            tls.set_default_verify_paths();
        if (opts.cert_file) tls.use_certificate_chain_file(*opts.cert_file);
        if (opts.key_file) tls.use_private_key_file(*opts.key_file, asio::ssl::context::pem);
        beast::ssl_stream<beast::tcp_stream> stream(io, tls);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str()))
            throw unreachable("cannot set the TLS server name");
        stream.set_verify_callback(asio::ssl::host_name_verification(url->host));
        beast::get_lowest_layer(stream).connect(endpoints);
        stream.handshake(asio::ssl::stream_base::client);
        return exchange(stream, request);
    } catch (const boost::system::system_error& e) {
        throw unreachable(e.code().message());
    }
}

/// The daemon's answer when it is not a success: its message, and exit 1.
int rejected(const reply& answer) {
    std::string message = answer.body;
    const auto json = nlohmann::json::parse(answer.body, nullptr, false);
    if (json.is_object() && json.contains("error") && json["error"].is_string()) message = json["error"];
    if (answer.status == 401) message += " (set INVARIANTD_API_TOKEN to the daemon's server.api_token)";
    std::cerr << fmt::format("invariantd silence: the daemon answered {}: {}\n", answer.status, message);
    return exit_rejected;
}

std::string pad(const std::string& text, std::size_t width) {
    return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

void print_table(const nlohmann::json& silences) {
    const auto now = system_clock::now();
    std::vector<std::vector<std::string>> rows{{"ID", "CHECKS", "ENDS", "LEFT", "BY", "COMMENT"}};
    for (const auto& entry : silences) {
        std::string checks;
        for (const auto& pattern : entry.value("checks", nlohmann::json::array()))
            checks += (checks.empty() ? "" : ",") + pattern.get<std::string>();
        const auto ends = parse_rfc3339(entry.value("ends_at", ""));
        std::string left = "ended";
        if (entry.value("active", false) && ends)
            left = format_age(std::chrono::duration_cast<duration>(*ends - now));
        rows.push_back({entry.value("id", ""), checks, entry.value("ends_at", ""), left,
                        entry.value("created_by", ""), entry.value("comment", "")});
    }
    std::vector<std::size_t> widths(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i)
            line += i + 1 == row.size() ? row[i] : pad(row[i], widths[i]) + "  ";
        std::cout << line << '\n';
    }
}

std::optional<cli_options> parse(const std::vector<std::string>& args) {
    cli_options opts;
    if (args.empty()) return std::nullopt;
    opts.action = args[0];
    if (opts.action != "add" && opts.action != "list" && opts.action != "expire") return std::nullopt;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const auto& arg = args[i];
        auto value = [&]() -> std::optional<std::string> {
            if (i + 1 >= args.size()) return std::nullopt;
            return args[++i];
        };
        std::optional<std::string>* target = nullptr;
        if (arg == "--json") {
            opts.json = true;
            continue;
        }
        if (arg == "--check" && opts.action == "add") {
            auto v = value();
            if (!v) return std::nullopt;
            opts.checks.push_back(*v);
            continue;
        }
        if (arg == "--url") {
            auto v = value();
            if (!v) return std::nullopt;
            opts.url = *v;
            continue;
        }
        if (arg == "--for" && opts.action == "add")
            target = &opts.for_duration;
        else if (arg == "--until" && opts.action == "add")
            target = &opts.until;
        else if (arg == "--comment" && opts.action == "add")
            target = &opts.comment;
        else if (arg == "--by" && opts.action == "add")
            target = &opts.by;
        else if (arg == "--ca-file")
            target = &opts.ca_file;
        else if (arg == "--cert")
            target = &opts.cert_file;
        else if (arg == "--key")
            target = &opts.key_file;
        else if (arg == "--user")
            target = &opts.user;
        else if (opts.action == "expire" && !opts.id && !arg.starts_with("-")) {
            opts.id = arg;
            continue;
        }
        if (target == nullptr) return std::nullopt;
        auto v = value();
        if (!v) return std::nullopt;
        *target = *v;
    }
    if (opts.action == "add") {
        if (opts.checks.empty() || !opts.comment || opts.for_duration.has_value() == opts.until.has_value())
            return std::nullopt;
        if (!opts.by) {
            const char* user = std::getenv("USER");
            opts.by = user != nullptr && *user != '\0' ? user : "unknown";
        }
    }
    if (opts.action == "expire" && !opts.id) return std::nullopt;
    if (opts.cert_file.has_value() != opts.key_file.has_value()) return std::nullopt;
    return opts;
}

}  // namespace

int command_silence(const std::vector<std::string>& args) {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h" || args[0] == "help")) {
        std::cout << silence_usage;
        return exit_done;
    }
    const auto opts = parse(args);
    if (!opts) {
        std::cerr << "invariantd silence: incomplete or unknown arguments\n" << silence_usage;
        return exit_usage;
    }
    try {
        if (opts->action == "add") {
            nlohmann::json body{
                {"checks", opts->checks}, {"comment", *opts->comment}, {"created_by", *opts->by}};
            if (opts->for_duration)
                body["duration"] = *opts->for_duration;
            else
                body["ends_at"] = *opts->until;
            const auto answer = call(*opts, http::verb::post, "/api/v1/silences", body.dump());
            if (answer.status != 201) return rejected(answer);
            if (opts->json)
                std::cout << answer.body;
            else
                std::cout << nlohmann::json::parse(answer.body).value("id", "") << '\n';
            return exit_done;
        }
        if (opts->action == "list") {
            const auto answer = call(*opts, http::verb::get, "/api/v1/silences");
            if (answer.status != 200) return rejected(answer);
            if (opts->json)
                std::cout << answer.body;
            else
                print_table(nlohmann::json::parse(answer.body));
            return exit_done;
        }
        const auto answer = call(*opts, http::verb::delete_, "/api/v1/silences/" + *opts->id);
        if (answer.status != 200) return rejected(answer);
        if (opts->json)
            std::cout << answer.body;
        else
            std::cout << "silence " << *opts->id << " expired\n";
        return exit_done;
    } catch (const unreachable& e) {
        std::cerr << fmt::format("invariantd silence: cannot reach the daemon at {}: {}\n", opts->url,
                                 e.what());
        return exit_unreachable;
    } catch (const nlohmann::json::exception& e) {
        std::cerr << fmt::format("invariantd silence: the daemon's answer is not the expected JSON: {}\n",
                                 e.what());
        return exit_unreachable;
    }
}

}  // namespace invariantd
