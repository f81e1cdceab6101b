#include "daemon/core/daemon_app.hpp"

#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "checks/registry.hpp"
#include "daemon/common/logging.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/common/time_format.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/core/check_runner.hpp"
#include "daemon/core/database_factory.hpp"
#include "daemon/core/http_routes.hpp"
#include "daemon/core/status_json.hpp"
#include "daemon/core/status_page.hpp"
#include "daemon/alerting/summary_template.hpp"

#ifndef INVARIANTD_VERSION
#define INVARIANTD_VERSION "0.0.0"
#endif
#ifndef INVARIANTD_REVISION
#define INVARIANTD_REVISION "unknown"
#endif

namespace invariantd {

const char* version_string() { return INVARIANTD_VERSION; }
const char* revision_string() { return INVARIANTD_REVISION; }

namespace {

http_limits limits_from(const config::server_config& server) {
    http_limits limits;
    limits.idle_timeout = server.idle_timeout;
    limits.request_timeout = server.request_timeout;
    limits.max_connections = server.max_connections;
    return limits;
}

http_response json_response(http::status status, const nlohmann::ordered_json& body) {
    return make_response(status, "application/json",
                         body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n");
}

http_response error_response(http::status status, std::string_view message) {
    return json_response(status, {{"error", message}});
}

}  // namespace

daemon_app::daemon_app(asio::io_context& loop, std::string config_path, config::daemon_config initial)
    : loop_(loop),
      config_path_(std::move(config_path)),
      config_(std::move(initial)),
      metrics_(version_string(), revision_string()),
      alerts_(loop.get_executor(),
              delivery_observer{
                  [this](const std::string& receiver, const char* outcome) {
                      metrics_.count_notification(receiver, outcome);
                  },
                  [this](const std::string& receiver, std::size_t length) {
                      metrics_.set_notification_queue_length(receiver, length);
                  }}),
      server_(loop.get_executor(), limits_from(config_.server),
              [this](const http_request& request) { return handle(request); }),
      reload_signal_(loop, SIGHUP),
      stop_signals_(loop, SIGTERM, SIGINT) {}

daemon_app::~daemon_app() {
    for (auto& [name, task] : tasks_) task->stop(true);
    for (auto& [name, entry] : databases_) entry.database->close();
}

void daemon_app::start() {
    server_.listen(config_.server.host, config_.server.port);
    std::error_code ec;
    std::filesystem::create_directories(config_.state_dir, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create state_dir '{}': {}", config_.state_dir, ec.message()));
    alerts_.open(config_.state_dir);
    auto initial = config_;
    config_ = {};
    apply(std::move(initial));
    // The initial load counts as a successful load for both reload gauges.
    metrics_.set_config_reload(true, unix_seconds(system_clock::now()));
    server_.start();
    asio::co_spawn(loop_, watch_reload_signal(), log_escaped_exception{"reload signal"});
    asio::co_spawn(loop_, watch_stop_signals(), log_escaped_exception{"stop signals"});
    const auto endpoint = server_.local_endpoint();
    spdlog::info("invariantd {} listening on {}:{} with {} checks on {} databases", version_string(),
                 endpoint.address().to_string(), endpoint.port(), tasks_.size(), databases_.size());
}

void daemon_app::apply(config::daemon_config next) {
    secret_registry::global().add(next.secrets);

    std::map<std::string, database_entry> databases;
    for (const auto& db_config : next.databases) {
        auto existing = databases_.find(db_config.name);
        if (existing != databases_.end() && existing->second.config == db_config) {
            databases.emplace(db_config.name, std::move(existing->second));
            databases_.erase(existing);
            continue;
        }
        database_entry entry{db_config, make_database(loop_.get_executor(), db_config), true, {}};
        metrics_.add_database(db_config.name);
        databases.emplace(db_config.name, std::move(entry));
    }
    for (auto& [name, old] : databases_) {
        old.database->close();
        if (!databases.contains(name)) metrics_.remove_database(name);
    }
    databases_ = std::move(databases);

    for (const auto& receiver : next.receivers) metrics_.add_receiver(receiver.name);
    alerts_.configure(next.receivers);

    std::map<std::string, std::shared_ptr<check_task>> tasks;
    for (const auto& check : next.checks) {
        const auto& database = databases_.at(check.database).database;
        auto existing = tasks_.find(check.name);
        if (existing != tasks_.end() && existing->second->config() == check &&
            existing->second->database() == database) {
            tasks.emplace(check.name, existing->second);
            tasks_.erase(existing);
            continue;
        }
        if (existing != tasks_.end()) {
            existing->second->stop(true);
            tasks_.erase(existing);
        }
        const auto* module = checks::find_module(check.module);
        auto task = std::make_shared<check_task>(
            loop_.get_executor(), check, *module, database,
            [this](check_task& t, const checks::check_result& result) { on_result(t, result); });
        if (auto stored = alerts_.stored_state(check.name)) task->restore_alert(stored->first, stored->second);
        metrics_.add_check(check.name, check.module, check.database);
        metrics_.set_alert_state(check.name, task->status().alert.state());
        tasks.emplace(check.name, task);
        task->start();
    }
    for (auto& [name, old] : tasks_) {
        old->stop(true);
        metrics_.remove_check(name);
        spdlog::info("check '{}' removed", name);
    }
    tasks_ = std::move(tasks);
    std::set<std::string> names;
    for (const auto& [name, task] : tasks_) names.insert(name);
    alerts_.retain_checks(names);
    config_ = std::move(next);
}

void daemon_app::on_result(check_task& task, const checks::check_result& result) {
    const auto& check = task.config();
    run_outcome outcome = run_outcome::ok;
    if (result.status == checks::run_status::timeout) outcome = run_outcome::timeout;
    else if (result.status == checks::run_status::error) outcome = run_outcome::error;
    else if (condition_holds(check, result)) outcome = run_outcome::violation;
    metrics_.record_run(check.name, result, outcome);
    metrics_.set_alert_state(check.name, task.status().alert.state());
    const auto& status = task.status();
    alerts_.observe(check, status.alert, result, status.last_good ? &*status.last_good : nullptr,
                    status.consecutive_failures);

    auto entry = databases_.find(check.database);
    if (entry == databases_.end() || entry->second.database != task.database()) return;
    const bool up = !result.database_unavailable;
    if (up != entry->second.up) {
        if (up) spdlog::info("database '{}' is reachable again", check.database);
        else spdlog::error("database '{}' is unavailable: {}", check.database, result.error);
    }
    entry->second.up = up;
    entry->second.error = up ? std::string() : result.error;
    metrics_.set_database_up(check.database, up);
}

std::vector<std::string> daemon_app::reload() {
    std::vector<std::string> errors;
    try {
        auto next = config::load_config_file(config_path_);
        if (next.server.listen != config_.server.listen)
            spdlog::warn("server.listen changed to {}; the listener moves only on restart", next.server.listen);
        configure_logging(next.log.level, next.log.format);
        apply(std::move(next));
        metrics_.set_config_reload(true, unix_seconds(system_clock::now()));
        spdlog::info("configuration reloaded from {}: {} checks on {} databases", config_path_, tasks_.size(),
                     databases_.size());
    } catch (const config::config_exception& e) {
        for (const auto& error : e.errors()) {
            errors.push_back(error.to_string());
            spdlog::error("reload: {}", error.to_string());
        }
        spdlog::error("reload failed; the previous configuration keeps running");
        metrics_.set_config_reload(false, 0);
    }
    return errors;
}

asio::awaitable<void> daemon_app::watch_reload_signal() {
    while (!shutting_down_) {
        boost::system::error_code ec;
        co_await reload_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        spdlog::info("SIGHUP: reloading configuration");
        reload();
    }
}

asio::awaitable<void> daemon_app::watch_stop_signals() {
    boost::system::error_code ec;
    const int signal = co_await stop_signals_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    spdlog::info("signal {}: shutting down", signal);
    co_await shutdown(std::chrono::seconds(15));
}

asio::awaitable<void> daemon_app::shutdown(duration grace) {
    if (shutting_down_) co_return;
    shutting_down_ = true;
    server_.stop();
    boost::system::error_code ec;
    reload_signal_.cancel(ec);
    stop_signals_.cancel(ec);
    for (auto& [name, task] : tasks_) task->stop(false);
    const auto deadline = steady_clock::now() + grace;
    for (auto& [name, task] : tasks_) {
        if (!co_await task->wait_stopped(deadline))
            spdlog::warn("check '{}' still running after the shutdown grace period; abandoning it", name);
    }
    co_await alerts_.stop();
    for (auto& [name, entry] : databases_) entry.database->close();
    spdlog::info("invariantd stopped");
    loop_.stop();
}

void daemon_app::refresh_connection_gauges() {
    for (const auto& [name, entry] : databases_) {
        const auto stats = entry.database->stats();
        metrics_.set_database_connections(name, stats.idle, stats.busy);
    }
}

http_response daemon_app::health_response() const {
    nlohmann::ordered_json databases = nlohmann::ordered_json::object();
    bool healthy = !shutting_down_;
    for (const auto& [name, entry] : databases_) {
        nlohmann::ordered_json item{{"up", entry.up}};
        if (!entry.up) {
            item["error"] = entry.error;
            healthy = false;
        }
        databases[name] = std::move(item);
    }
    nlohmann::ordered_json body{{"status", healthy ? "ok" : "degraded"}, {"checks", tasks_.size()}, {"databases", databases}};
    return json_response(healthy ? http::status::ok : http::status::service_unavailable, body);
}

nlohmann::ordered_json daemon_app::alerts_json() const {
    nlohmann::ordered_json alerts = nlohmann::ordered_json::array();
    std::set<std::string> listed;
    for (const auto& [name, task] : tasks_) {
        const auto& status = task->status();
        const auto state = status.alert.state();
        const auto key = dedup_key_for(name, false);
        auto queued = alerts_.queued_json(key);
        if (state == alert_state::ok && queued.empty()) continue;
        nlohmann::ordered_json alert{{"check", name},
                             {"dedup_key", key},
                             {"state", to_string(state)},
                             {"severity", task->config().alert.severity},
                             {"condition", task->config().alert.when ? task->config().alert.when->to_string() : ""},
                             {"value", status.last_good ? json_number(status.last_good->output.value) : nullptr},
                             {"summary", status.last_good ? render_summary(task->config(), status.last_good->output)
                                                          : std::string()},
                             {"runbook_url", task->config().alert.runbook_url}};
        if (auto since = status.alert.active_since()) alert["active_since"] = format_rfc3339(*since);
        alert["receivers"] = task->config().alert.receivers;
        alert["notifications"] = std::move(queued);
        listed.insert(key);
        alerts.push_back(std::move(alert));
    }
    // <check>:error alerts, and alerts of removed checks whose resolve is still queued.
    for (const auto* record : alerts_.active_records()) {
        if (listed.contains(record->dedup_key)) continue;
        const auto event = event_from_json(record->last_event);
        nlohmann::ordered_json alert{{"check", record->error_alert ? record->check + ":error" : record->check},
                                     {"dedup_key", record->dedup_key},
                                     {"state", to_string(record->state)},
                                     {"severity", event.severity},
                                     {"summary", event.summary}};
        if (!event.error.empty()) alert["error"] = event.error;
        if (record->active_since) alert["active_since"] = format_rfc3339(*record->active_since);
        alert["receivers"] = record->receivers;
        alert["notifications"] = alerts_.queued_json(record->dedup_key);
        alerts.push_back(std::move(alert));
    }
    return alerts;
}

http_response daemon_app::status_page() const {
    status_page_view view{version_string(), format_rfc3339(system_clock::now()), {}, {}};
    for (const auto& [name, entry] : databases_) view.databases.push_back({name, entry.up, entry.error});
    for (const auto& [name, task] : tasks_) view.checks.push_back(check_to_json(*task, false));
    return make_response(http::status::ok, "text/html; charset=utf-8", render_status_page(view));
}

asio::awaitable<http_response> daemon_app::handle(const http_request& request) {
    const auto target = request.target();
    const auto [path, query] = split_target(std::string_view(target.data(), target.size()));
    const auto match = match_route(path);
    const auto method = request.method();

    if (method == http::verb::options) {
        // HAProxy's default health check is "OPTIONS /"; answer any known path (and "*").
        if (match.target == route::not_found && path != "*") co_return error_response(http::status::not_found, "not found");
        auto response = make_response(http::status::ok, "text/plain; charset=utf-8", "");
        response.set(http::field::allow, path == "*" ? "GET, HEAD, POST, OPTIONS" : match.allow);
        co_return response;
    }
    if (match.protected_by_token && config_.server.api_token) {
        const auto authorization = request[http::field::authorization];
        if (!bearer_matches(std::string_view(authorization.data(), authorization.size()), *config_.server.api_token)) {
            auto response = error_response(http::status::unauthorized, "missing or wrong bearer token");
            response.set(http::field::www_authenticate, "Bearer realm=\"invariantd\"");
            co_return response;
        }
    }
    if (match.target == route::not_found) co_return error_response(http::status::not_found, "not found");

    const bool read = method == http::verb::get || method == http::verb::head;
    const bool post = method == http::verb::post;
    const bool post_route = match.target == route::run_check || match.target == route::reload;
    if ((post_route && !post) || (!post_route && !read)) {
        auto response = error_response(http::status::method_not_allowed, "method not allowed");
        response.set(http::field::allow, match.allow);
        co_return response;
    }

    switch (match.target) {
        case route::status_page:
            co_return status_page();
        case route::livez:
            co_return json_response(http::status::ok, {{"status", "ok"}});
        case route::health:
            co_return health_response();
        case route::metrics: {
            refresh_connection_gauges();
            std::string body = metrics_.serialize();
            const auto accept = request[http::field::accept_encoding];
            const bool gzip = accepts_gzip(std::string_view(accept.data(), accept.size()));
            if (gzip) body = gzip_compress(body);
            auto response = make_response(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", std::move(body));
            if (gzip) response.set(http::field::content_encoding, "gzip");
            response.set(http::field::vary, "Accept-Encoding");
            co_return response;
        }
        case route::checks: {
            nlohmann::ordered_json list = nlohmann::ordered_json::array();
            for (const auto& [name, task] : tasks_) list.push_back(check_to_json(*task, false));
            co_return json_response(http::status::ok, list);
        }
        case route::check: {
            auto it = tasks_.find(match.check_name);
            if (it == tasks_.end()) co_return error_response(http::status::not_found, "no such check");
            co_return json_response(http::status::ok, check_to_json(*it->second, true));
        }
        case route::run_check: {
            auto it = tasks_.find(match.check_name);
            if (it == tasks_.end()) co_return error_response(http::status::not_found, "no such check");
            auto task = it->second;  // keeps the task alive if a reload replaces it meanwhile
            const auto wait = query_parameter(query, "wait");
            if (!wait || *wait == "0" || *wait == "false") {
                task->request_run();
                co_return json_response(http::status::accepted,
                                        nlohmann::ordered_json{{"status", "scheduled"}, {"check", match.check_name}});
            }
            co_await task->run_now_and_wait(steady_clock::now() + task->config().timeout * 2 + std::chrono::seconds(5));
            co_return json_response(http::status::ok, check_to_json(*task, true));
        }
        case route::alerts:
            co_return json_response(http::status::ok, alerts_json());
        case route::reload: {
            auto errors = reload();
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
