#include "daemon/core/http_routes.hpp"

#include <cctype>
#include <regex>
#include <stdexcept>

namespace invariantd {
namespace {

constexpr const char* read_only = "GET, HEAD, OPTIONS";

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

route_match match_route(std::string_view path) {
    if (path == "/") return {route::status_page, {}, read_only, false};
    if (path == "/metrics") return {route::metrics, {}, read_only, false};
    if (path == "/health") return {route::health, {}, read_only, false};
    if (path == "/livez") return {route::livez, {}, read_only, false};
    if (path == "/api/v1/checks" || path == "/api/v1/checks/") return {route::checks, {}, read_only, true};
    if (path == "/api/v1/alerts") return {route::alerts, {}, read_only, true};
    if (path == "/-/reload") return {route::reload, {}, "POST, OPTIONS", true};
    if (path == "/api/v1/silences") return {route::silences, {}, "GET, HEAD, POST, OPTIONS", true};
    if (path == "/api/v1/maintenance") return {route::maintenance, {}, read_only, true};
    static const std::regex silence_path("^/api/v1/silences/([A-Za-z0-9-]{1,64})$");
    std::match_results<std::string_view::const_iterator> silence_match;
    if (std::regex_match(path.begin(), path.end(), silence_match, silence_path))
        return {route::silence, silence_match[1].str(), "DELETE, OPTIONS", true};
    static const std::regex check_path("^/api/v1/checks/([a-z0-9_]+)(/run|/offenders|/history)?$");
    static const std::regex check_page_path("^/checks/([a-z0-9_]+)$");
    std::match_results<std::string_view::const_iterator> match;
    if (std::regex_match(path.begin(), path.end(), match, check_page_path))
        return {route::check_page, match[1].str(), read_only, false};
    if (std::regex_match(path.begin(), path.end(), match, check_path)) {
        if (match[2].matched && match[2].str() == "/offenders") return {route::offenders, match[1].str(), read_only, true};
        if (match[2].matched && match[2].str() == "/history") return {route::history, match[1].str(), read_only, true};
        if (match[2].matched) return {route::run_check, match[1].str(), "POST, OPTIONS", true};
        return {route::check, match[1].str(), read_only, true};
    }
    return {route::not_found, {}, {}, path.rfind("/api/", 0) == 0 || path.rfind("/-/", 0) == 0};
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
    const auto question = target.find('?');
    if (question == std::string_view::npos) return {target, {}};
    return {target.substr(0, question), target.substr(question + 1)};
}

std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto equals = pair.find('=');
        if (pair.substr(0, equals) == name)
            return equals == std::string_view::npos ? std::string() : std::string(pair.substr(equals + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

bool accepts_gzip(std::string_view accept_encoding) {
    while (!accept_encoding.empty()) {
        const auto comma = accept_encoding.find(',');
        std::string_view item = trim(accept_encoding.substr(0, comma));
        const auto semicolon = item.find(';');
        const std::string_view coding = trim(item.substr(0, semicolon));
        if (iequals(coding, "gzip") || coding == "*") {
            if (semicolon == std::string_view::npos) return true;
            const std::string_view parameter = trim(item.substr(semicolon + 1));
            if (parameter.size() >= 2 && (parameter[0] == 'q' || parameter[0] == 'Q') && parameter[1] == '=') {
                const std::string_view q = trim(parameter.substr(2));
                // q=0, q=0.0, q=0.000 refuse the coding; anything else accepts it.
                return q.find_first_not_of("0.") != std::string_view::npos;
            }
            return true;
        }
        if (comma == std::string_view::npos) break;
        accept_encoding.remove_prefix(comma + 1);
    }
    return false;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
    authorization = trim(authorization);
    if (authorization.size() < 7 || !iequals(authorization.substr(0, 7), "Bearer ")) return false;
    const std::string_view given = trim(authorization.substr(7));
    if (given.size() != token.size()) return false;
    unsigned char difference = 0;
    for (std::size_t i = 0; i < token.size(); ++i)
        difference = static_cast<unsigned char>(difference | (given[i] ^ token[i]));
    return difference == 0;
}

}  // namespace invariantd
