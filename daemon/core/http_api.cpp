#include "daemon/core/http_api.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <set>

#include "daemon/alerting/summary_template.hpp"
#include "daemon/cluster/coordinator.hpp"
#include "daemon/common/time_format.hpp"
#include "daemon/core/http_routes.hpp"
#include "daemon/core/status_json.hpp"
#include "daemon/core/status_page.hpp"

#ifndef INVARIANTD_VERSION
#define INVARIANTD_VERSION "0.0.0"
#endif
#ifndef INVARIANTD_REVISION
#define INVARIANTD_REVISION "unknown"
#endif

namespace invariantd {

const char* version_string() {
    return INVARIANTD_VERSION;
}
const char* revision_string() {
    return INVARIANTD_REVISION;
}

namespace {

http_response json_response(http::status status, const nlohmann::ordered_json& body) {
    return make_response(status, "application/json",
                         body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

http_response error_response(http::status status, std::string_view message) {
    return json_response(status, {{"error", message}});
}

/// `?limit=N`: 100 when absent, nullopt unless a whole number of at least 1.
std::optional<std::size_t> limit_parameter(std::string_view query) {
    const auto text = query_parameter(query, "limit");
    if (!text) return 100;
    std::size_t parsed = 0;
    const auto* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, parsed);
    if (ec != std::errc() || ptr != end || parsed < 1) return std::nullopt;
    return parsed;
}

}  // namespace

http_response http_api::health_response() const {
    nlohmann::ordered_json databases = nlohmann::ordered_json::object();
    bool healthy = !daemon_.shutting_down();
    for (const auto& entry : daemon_.databases()) {
        nlohmann::ordered_json item{{"up", entry.up}};
        if (!entry.up) {
            item["error"] = entry.error;
            healthy = false;
        }
        databases[entry.name] = std::move(item);
    }
    nlohmann::ordered_json body{{"status", healthy ? "ok" : "degraded"},
                                {"checks", daemon_.tasks().size()},
                                {"databases", databases}};
    if (const auto* cluster = daemon_.cluster()) {
        // A member that lost the coordination database runs nothing: take it out of rotation.
        body["cluster"] = {{"member", cluster->self()}, {"is_member", cluster->is_member()}};
        if (!cluster->is_member()) {
            healthy = false;
            body["status"] = "degraded";
            body["cluster"]["error"] = "no heartbeat in the coordination database within the lease";
        }
    }
    return json_response(healthy ? http::status::ok : http::status::service_unavailable, body);
}

nlohmann::ordered_json http_api::alerts_json() const {
    nlohmann::ordered_json alerts = nlohmann::ordered_json::array();
    std::set<std::string> listed;
    const auto& pipeline = daemon_.alerts();
    const auto& book = pipeline.book();
    for (const auto& [name, task] : daemon_.tasks()) {
        const auto& status = task->status();
        const auto state = book.state(task->instance());
        const auto key = dedup_key_for(task->instance(), alert_kind::value);
        auto queued = pipeline.queued_json(key);
        if (state == alert_state::ok && queued.empty()) continue;
        nlohmann::ordered_json alert{
            {"check", name},
            {"dedup_key", key},
            {"state", to_string(state)},
            {"severity", task->config().alert.severity},
            {"condition", task->config().alert.when ? task->config().alert.when->to_string() : ""},
            {"value", status.last_good ? json_number(status.last_good->output.value) : nullptr},
            {"summary",
             status.last_good ? render_summary(task->config(), status.last_good->output) : std::string()},
            {"runbook_url", task->config().alert.runbook_url}};
        if (auto since = book.active_since(task->instance())) alert["active_since"] = format_rfc3339(*since);
        alert["receivers"] = task->config().alert.receivers;
        alert["notifications"] = std::move(queued);
        listed.insert(key);
        alerts.push_back(std::move(alert));
    }
    // <check>:error alerts, and alerts of removed checks whose resolve is still queued.
    for (const auto& [key, record] : book.records()) {
        if (listed.contains(key)) continue;
        auto queued = pipeline.queued_json(key);
        if (record.state == alert_state::ok && queued.empty()) continue;
        const auto event = record.last_event.value_or(alert_event{});
        const auto& instance = record.instance.name();
        nlohmann::ordered_json alert{
            {"check", record.kind == alert_kind::error ? instance + ":error" : instance},
            {"dedup_key", key},
            {"state", to_string(record.state)},
            {"severity", event.severity},
            {"summary", event.summary}};
        if (!event.error.empty()) alert["error"] = event.error;
        if (record.active_since) alert["active_since"] = format_rfc3339(*record.active_since);
        alert["receivers"] = record.receivers;
        alert["notifications"] = std::move(queued);
        alerts.push_back(std::move(alert));
    }
    return alerts;
}

nlohmann::ordered_json http_api::silences_json() const {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    const auto now = system_clock::now();
    for (const auto& entry : daemon_.alerts().mutes().listed(now)) out.push_back(to_json(entry, now));
    return out;
}

nlohmann::ordered_json http_api::cluster_json() const {
    const auto& cluster = *daemon_.cluster();
    std::map<std::string, std::size_t> owned;
    for (const auto& [name, task] : daemon_.tasks()) {
        if (auto owner = cluster.owner_of(name)) ++owned[*owner];
    }
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (const auto& member : cluster.members()) {
        const bool live = std::find(cluster.live_members().begin(), cluster.live_members().end(), member.name) !=
                          cluster.live_members().end();
        members.push_back({{"name", member.name},
                           {"live", live},
                           {"last_heartbeat", format_rfc3339(system_clock::time_point(
                                                  std::chrono::duration_cast<system_clock::duration>(
                                                      std::chrono::duration<double>(member.last_heartbeat))))},
                           {"epoch", member.epoch},
                           {"owned_checks", live ? owned[member.name] : 0},
                           {"version", member.version}});
    }
    return {{"self", cluster.self()},
            {"is_member", cluster.is_member()},
            {"epoch", cluster.epoch()},
            {"lease", format_duration(cluster.lease())},
            {"members", std::move(members)}};
}

void http_api::add_owner(nlohmann::ordered_json& check, const std::string& instance) const {
    const auto* cluster = daemon_.cluster();
    if (cluster == nullptr) return;
    const auto owner = cluster->owner_of(instance);
    check["owner"] = owner ? nlohmann::ordered_json(*owner) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json http_api::maintenance_json() const {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    const auto now = system_clock::now();
    const auto& windows = daemon_.alerts().mutes().windows();
    const auto& spans = daemon_.alerts().window_spans();
    for (std::size_t i = 0; i < windows.size() && i < spans.size(); ++i) {
        const auto& window = windows[i];
        const auto& span = spans[i];
        out.push_back({{"name", window.name},
                       {"checks", window.checks},
                       {"action", config::to_string(window.action)},
                       {"active", span && span->start <= now},
                       {"next_start", span ? nlohmann::ordered_json(format_rfc3339(span->start)) : nullptr},
                       {"next_end", span ? nlohmann::ordered_json(format_rfc3339(span->end)) : nullptr}});
    }
    return out;
}

http_response http_api::offenders_response(const check_task& task, std::string_view query) const {
    const auto limit = limit_parameter(query);
    if (!limit || *limit > 1000)
        return error_response(http::status::bad_request, "limit must be a whole number from 1 to 1000");
    const auto state = query_parameter(query, "state");
    if (state && *state != "new" && *state != "persisting")
        return error_response(http::status::bad_request, "state must be new or persisting");
    const auto after = query_parameter(query, "after");

    const auto* ledger = daemon_.alerts().book().ledger(task.instance());
    nlohmann::ordered_json body{{"check", task.instance().name()},
                                {"tracked", ledger ? ledger->offenders().size() : 0},
                                {"truncated", ledger ? ledger->truncated() : false}};
    nlohmann::ordered_json offenders = nlohmann::ordered_json::array();
    nlohmann::ordered_json next = nullptr;
    if (ledger != nullptr) {
        const auto& entries = ledger->offenders();
        std::size_t start = 0;
        if (after) {
            const auto* found = ledger->find(*after);
            if (found == nullptr)
                return error_response(http::status::bad_request, "'after' names no tracked offender");
            start = static_cast<std::size_t>(found - entries.data()) + 1;
        }
        const auto& samples = task.status().last_good ? task.status().last_good->output.samples
                                                      : nlohmann::ordered_json::array();
        for (std::size_t i = start; i < entries.size(); ++i) {
            const auto& entry = entries[i];
            if (state && (*state == "new") != entry.is_new) continue;
            if (offenders.size() == *limit) {
                next = offenders.back()["key"];
                break;
            }
            nlohmann::ordered_json item{
                {"key", entry.key},
                {"first_seen", format_rfc3339(entry.first_seen)},
                {"last_seen", ledger->last_seen()
                                  ? nlohmann::ordered_json(format_rfc3339(*ledger->last_seen()))
                                  : nlohmann::ordered_json(nullptr)},
                {"new", entry.is_new}};
            for (const auto& sample : samples)
                if (sample.contains("key") && sample["key"] == entry.key) item["sample"] = sample;
            offenders.push_back(std::move(item));
        }
    }
    body["offenders"] = std::move(offenders);
    body["next"] = std::move(next);
    nlohmann::ordered_json cleared = nlohmann::ordered_json::array();
    if (ledger != nullptr)
        for (const auto& entry : ledger->recently_cleared())
            cleared.push_back({{"key", entry.key},
                               {"first_seen", format_rfc3339(entry.first_seen)},
                               {"cleared_at", format_rfc3339(entry.cleared_at)}});
    body["recently_cleared"] = std::move(cleared);
    return json_response(http::status::ok, body);
}

namespace {

http_response html_response(std::string body) {
    auto response = make_response(http::status::ok, "text/html; charset=utf-8", std::move(body));
    response.set("Content-Security-Policy", html_content_security_policy);
    return response;
}

}  // namespace

status_page_view http_api::page_view(std::string_view query, const std::string* only) const {
    const auto now = system_clock::now();
    status_page_view view{version_string(), format_rfc3339(now), {}, {}, {}, {}, {}};
    view.filter_state = query_parameter(query, "state").value_or("");
    view.filter_database = query_parameter(query, "database").value_or("");
    for (const auto& entry : daemon_.databases())
        view.databases.push_back({entry.name, entry.up, entry.error});
    for (const auto& [name, task] : daemon_.tasks()) {
        if (only != nullptr && name != *only) continue;
        const auto& config = task->config();
        status_page_check entry;
        entry.check = check_to_json(*task, daemon_.alerts(), true);
        add_owner(entry.check, name);
        // The page says how long the oldest offender has been wrong, as of now.
        if (const auto* ledger = daemon_.alerts().book().ledger(task->instance()))
            if (const auto oldest = ledger->oldest_first_seen())
                entry.check["offenders"]["oldest_age"] =
                    format_age(std::chrono::duration_cast<duration>(now - *oldest));
        const auto& status = task->status();
        if (status.last_good) entry.summary = render_summary(config, status.last_good->output);
        entry.format = config.format.value_or(task->module().default_format());
        if (config.alert.when) {
            entry.threshold = config.alert.when->threshold;
            entry.comparator = config::to_string(config.alert.when->op);
        }
        for (const auto& point : daemon_.alerts().history().of(task->instance().name()))
            entry.history.push_back({unix_seconds(point.time), point.value});
        const checks::module_args args(config.params);
        for (const auto& sample : entry.check["samples"])
            entry.sample_lines.push_back(task->module().sample_line(sample, args));
        if (status.last) entry.statements = status.last->statements;
        entry.runbook_url = config.alert.runbook_url;
        view.checks.push_back(std::move(entry));
    }
    for (const auto& entry : daemon_.alerts().mutes().listed(now)) {
        if (!entry.active(now)) continue;
        std::string patterns;
        for (const auto& pattern : entry.checks) patterns += (patterns.empty() ? "" : ", ") + pattern;
        view.silences.push_back({entry.id, patterns, entry.comment, entry.created_by,
                                 format_rfc3339(entry.ends_at),
                                 format_age(std::chrono::duration_cast<duration>(entry.ends_at - now))});
    }
    return view;
}

http_response http_api::status_page(std::string_view query) const {
    const auto state = query_parameter(query, "state");
    if (state && !state->empty() && *state != "firing" && *state != "error" && *state != "pending" &&
        *state != "ok")
        return error_response(http::status::bad_request, "state must be firing, error, pending or ok");
    return html_response(render_status_page(page_view(query)));
}

http_response http_api::history_response(const check_task& task, std::string_view query) const {
    const auto asked = limit_parameter(query);
    if (!asked)
        return error_response(http::status::bad_request, "limit must be a whole number from 1 to 500");
    const auto limit = std::min<std::size_t>(*asked, run_history::kept);  // larger asks are capped
    const auto& points = daemon_.alerts().history().of(task.instance().name());
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    const auto start = points.size() > limit ? points.size() - limit : 0;
    for (std::size_t i = start; i < points.size(); ++i)
        out.push_back(
            {{"time", format_rfc3339(points[i].time)},
             {"value", points[i].value ? json_number(*points[i].value) : nlohmann::ordered_json(nullptr)},
             {"outcome", to_string(points[i].outcome)}});
    return json_response(http::status::ok, out);
}

asio::awaitable<http_response> http_api::handle(const http_request& request) {
    const auto target = request.target();
    const auto [path, query] = split_target(std::string_view(target.data(), target.size()));
    const auto match = match_route(path);
    const auto method = request.method();

    // Basic auth first (as exporters' web configuration does), except on exempt paths and
    // where the bearer token already guards the route.
    if (basic_auth_.enabled() && !basic_auth_.exempt(path) &&
        !(match.protected_by_token && daemon_.server().api_token)) {
        const auto authorization = request[http::field::authorization];
        std::string credentials(authorization.data(), authorization.size());
        auto admission = basic_auth_.admits(std::move(credentials));
        const bool admitted = co_await std::move(admission);
        if (!admitted) {
            auto response = error_response(http::status::unauthorized, "missing or wrong user name or password");
            response.set(http::field::www_authenticate, "Basic realm=\"invariantd\", charset=\"UTF-8\"");
            co_return response;
        }
    }

    if (method == http::verb::options) {
        // HAProxy's default health check is "OPTIONS /"; answer any known path (and "*").
        if (match.target == route::not_found && path != "*")
            co_return error_response(http::status::not_found, "not found");
        auto response = make_response(http::status::ok, "text/plain; charset=utf-8", "");
        response.set(http::field::allow, path == "*" ? "GET, HEAD, POST, OPTIONS" : match.allow);
        co_return response;
    }
    if (match.protected_by_token && daemon_.server().api_token) {
        const auto authorization = request[http::field::authorization];
        if (!bearer_matches(std::string_view(authorization.data(), authorization.size()),
                            *daemon_.server().api_token)) {
            auto response = error_response(http::status::unauthorized, "missing or wrong bearer token");
            response.set(http::field::www_authenticate, "Bearer realm=\"invariantd\"");
            co_return response;
        }
    }
    if (match.target == route::not_found) co_return error_response(http::status::not_found, "not found");

    // The methods a route accepts are the ones its Allow header lists.
    const auto verb = http::to_string(method);
    const std::string_view method_name(verb.data(), verb.size());
    const auto allowed = std::string_view(match.allow);
    bool method_listed = false;
    for (std::size_t at = 0; at < allowed.size();) {
        const auto comma = allowed.find(',', at);
        const auto item =
            allowed.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
        if (item == method_name) method_listed = true;
        at = comma == std::string_view::npos ? allowed.size() : comma + 2;
    }
    if (!method_listed) {
        auto response = error_response(http::status::method_not_allowed, "method not allowed");
        response.set(http::field::allow, match.allow);
        co_return response;
    }

    switch (match.target) {
        case route::status_page:
            co_return status_page(query);
        case route::check_page: {
            const auto view = page_view({}, &match.check_name);
            if (view.checks.empty()) co_return error_response(http::status::not_found, "no such check");
            co_return html_response(render_check_page(view, 0));
        }
        case route::history: {
            auto it = daemon_.tasks().find(match.check_name);
            if (it == daemon_.tasks().end())
                co_return error_response(http::status::not_found, "no such check");
            co_return history_response(*it->second, query);
        }
        case route::livez:
            co_return json_response(http::status::ok, {{"status", "ok"}});
        case route::health:
            co_return health_response();
        case route::metrics: {
            const auto accept = request[http::field::accept_encoding];
            const bool gzip = accepts_gzip(std::string_view(accept.data(), accept.size()));
            std::string body = co_await daemon_.metrics_body(gzip);
            auto response =
                make_response(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(body));
            if (gzip) response.set(http::field::content_encoding, "gzip");
            response.set(http::field::vary, "Accept-Encoding");
            co_return response;
        }
        case route::checks: {
            nlohmann::ordered_json list = nlohmann::ordered_json::array();
            for (const auto& [name, task] : daemon_.tasks()) {
                auto item = check_to_json(*task, daemon_.alerts(), false);
                add_owner(item, name);
                list.push_back(std::move(item));
            }
            co_return json_response(http::status::ok, list);
        }
        case route::check: {
            auto it = daemon_.tasks().find(match.check_name);
            if (it == daemon_.tasks().end())
                co_return error_response(http::status::not_found, "no such check");
            auto item = check_to_json(*it->second, daemon_.alerts(), true);
            add_owner(item, match.check_name);
            co_return json_response(http::status::ok, item);
        }
        case route::run_check: {
            auto it = daemon_.tasks().find(match.check_name);
            if (it == daemon_.tasks().end())
                co_return error_response(http::status::not_found, "no such check");
            auto task = it->second;  // keeps the task alive if a reload replaces it meanwhile
            if (const auto* cluster = daemon_.cluster(); cluster != nullptr && !cluster->owns(match.check_name)) {
                // Only the owner runs a check (SPEC §12); the caller can ask it directly.
                const auto owner = cluster->owner_of(match.check_name);
                co_return error_response(
                    http::status::conflict,
                    owner ? fmt::format("the check is owned by cluster member '{}'; only its owner runs it", *owner)
                          : std::string("no live cluster member owns the check"));
            }
            if (!task->may_run())
                co_return error_response(
                    http::status::conflict,
                    "the check is paused by a maintenance window; it does not run until the "
                    "window ends");
            const auto wait = query_parameter(query, "wait");
            if (!wait || *wait == "0" || *wait == "false") {
                task->request_run();
                co_return json_response(
                    http::status::accepted,
                    nlohmann::ordered_json{{"status", "scheduled"}, {"check", match.check_name}});
            }
            co_await task->run_now_and_wait(steady_clock::now() + task->config().timeout * 2 +
                                            std::chrono::seconds(5));
            co_await daemon_.metrics_settled();
            co_return json_response(http::status::ok, check_to_json(*task, daemon_.alerts(), true));
        }
        case route::offenders: {
            auto it = daemon_.tasks().find(match.check_name);
            if (it == daemon_.tasks().end())
                co_return error_response(http::status::not_found, "no such check");
            co_return offenders_response(*it->second, query);
        }
        case route::alerts:
            co_return json_response(http::status::ok, alerts_json());
        case route::cluster:
            if (daemon_.cluster() == nullptr)
                co_return error_response(http::status::not_found, "not in cluster mode (no 'cluster' section)");
            co_return json_response(http::status::ok, cluster_json());
        case route::silences: {
            if (method != http::verb::post) co_return json_response(http::status::ok, silences_json());
            auto parsed = parse_silence_request(request.body(), system_clock::now());
            if (const auto* rejection = std::get_if<silence_rejection>(&parsed))
                co_return json_response(
                    http::status::bad_request,
                    nlohmann::ordered_json{{"error", rejection->message}, {"field", rejection->field}});
            const auto created = daemon_.add_silence(std::move(std::get<silence>(parsed)));
            co_await daemon_.metrics_settled();
            co_return json_response(http::status::created, nlohmann::ordered_json{{"id", created.id}});
        }
        case route::silence: {
            const auto ended = daemon_.expire_silence(match.check_name);
            if (!ended) co_return error_response(http::status::not_found, "no such silence");
            co_await daemon_.metrics_settled();
            co_return json_response(http::status::ok, to_json(*ended, system_clock::now()));
        }
        case route::maintenance:
            co_return json_response(http::status::ok, maintenance_json());
        case route::reload: {
            auto errors = daemon_.reload();
            co_await daemon_.metrics_settled();
            if (errors.empty()) co_return json_response(http::status::ok, {{"status", "reloaded"}});
            co_return json_response(http::status::internal_server_error,
                                    nlohmann::ordered_json{{"status", "error"}, {"errors", errors}});
        }
        case route::not_found:
            break;
    }
    co_return error_response(http::status::not_found, "not found");
}

}  // namespace invariantd
