#include "daemon/core/http_routes.hpp"

#include <cctype>
#include <optional>
#include <regex>
#include <utility>
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

/// "%xx" escapes decoded; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2])))
            return std::nullopt;
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

/// The instance name a path segment pair denotes: a check name ([a-z0-9_]+), optionally
/// followed by "/" and a non-empty member name (decoded, without '/').
std::optional<std::string> instance_from_path(std::string_view text) {
    static const std::regex check_name("[a-z0-9_]+");
    const auto slash = text.find('/');
    const auto check = text.substr(0, slash);
    if (!std::regex_match(check.begin(), check.end(), check_name)) return std::nullopt;
    if (slash == std::string_view::npos) return std::string(check);
    auto member = percent_decode(text.substr(slash + 1));
    if (!member || member->empty() || member->find('/') != std::string::npos ||
        text.substr(slash + 1).find('/') != std::string_view::npos)
        return std::nullopt;
    return std::string(check) + "/" + *member;
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
    if (path == "/api/v1/cluster") return {route::cluster, {}, read_only, true};
    static const std::regex silence_path("^/api/v1/silences/([A-Za-z0-9-]{1,64})$");
    std::match_results<std::string_view::const_iterator> silence_match;
    if (std::regex_match(path.begin(), path.end(), silence_match, silence_path))
        return {route::silence, silence_match[1].str(), "DELETE, OPTIONS", true};
    // "<check>" or "<check>/<member>" (a database set's instance; the member percent-encoded
    // where it needs to be). A trailing /run, /offenders or /history is the sub-resource.
    if (path.rfind("/checks/", 0) == 0) {
        if (auto instance = instance_from_path(path.substr(8)))
            return {route::check_page, *instance, read_only, false};
    }
    if (path.rfind("/api/v1/checks/", 0) == 0) {
        auto rest = path.substr(15);
        route target = route::check;
        for (const auto& [suffix, kind] : {std::pair<std::string_view, route>{"/run", route::run_check},
                                           {"/offenders", route::offenders},
                                           {"/history", route::history}}) {
            if (rest.size() > suffix.size() && rest.substr(rest.size() - suffix.size()) == suffix) {
                rest.remove_suffix(suffix.size());
                target = kind;
                break;
            }
        }
        if (auto instance = instance_from_path(rest))
            return {target, *instance, target == route::run_check ? "POST, OPTIONS" : read_only, true};
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
