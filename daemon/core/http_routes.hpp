#pragma once
/// Pure request-routing helpers for the daemon's HTTP API: no I/O, unit-tested.
#include <optional>
#include <string>
#include <string_view>

namespace invariantd {

enum class route {
    not_found,
    status_page,    ///< GET /
    metrics,        ///< GET /metrics
    health,         ///< GET /health
    livez,          ///< GET /livez
    checks,         ///< GET /api/v1/checks
    check,          ///< GET /api/v1/checks/{name}
    run_check,      ///< POST /api/v1/checks/{name}/run
    offenders,      ///< GET /api/v1/checks/{name}/offenders
    history,        ///< GET /api/v1/checks/{name}/history
    check_page,     ///< GET /checks/{name} (HTML)
    alerts,         ///< GET /api/v1/alerts
    silences,       ///< GET, POST /api/v1/silences
    silence,        ///< DELETE /api/v1/silences/{id}
    maintenance,    ///< GET /api/v1/maintenance
    cluster,        ///< GET /api/v1/cluster
    reload,         ///< POST /-/reload
};

struct route_match {
    route target = route::not_found;
    std::string check_name;  ///< for check and run_check; the silence id for silence
    /// Methods the route accepts, for 405 and OPTIONS answers ("GET, HEAD, OPTIONS").
    std::string allow;
    bool protected_by_token = false;  ///< /api/* and /-/* when an api_token is configured
};

/// Maps a request path (without query) onto a route.
route_match match_route(std::string_view path);

/// Splits a request target into path and query ("/x?wait=1" → "/x", "wait=1").
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

/// Value of `name` in a query string ("wait=1&x=2"), if present ("" for a bare "wait").
std::optional<std::string> query_parameter(std::string_view query, std::string_view name);

/// True when an Accept-Encoding header value accepts gzip (and does not give it q=0).
bool accepts_gzip(std::string_view accept_encoding);

/// True when an Authorization header value is "Bearer <token>" for exactly `token`.
/// Compares in constant time for equal lengths.
bool bearer_matches(std::string_view authorization, std::string_view token);


}  // namespace invariantd
