#include "daemon/core/daemon_app.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "checks/registry.hpp"
#include "daemon/common/logging.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/common/time_format.hpp"
#include "daemon/common/server_tls.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/core/database_factory.hpp"
#include "daemon/core/shared_result.hpp"
#include "daemon/cluster/pg_state_store.hpp"
#include "daemon/state/sqlite_state_store.hpp"

namespace invariantd {

namespace {

http_limits limits_from(const config::server_config& server) {
    http_limits limits;
    limits.idle_timeout = server.idle_timeout;
    limits.request_timeout = server.request_timeout;
    limits.max_connections = server.max_connections;
    return limits;
}

/// The HTTPS context for server.tls, read from its files now; nullptr without server.tls.
std::shared_ptr<asio::ssl::context> tls_context_for(const config::server_config& server) {
    if (!server.tls) return nullptr;
    return make_server_tls_context(server.tls->cert_file, server.tls->key_file, server.tls->client_ca_file);
}

}  // namespace

daemon_app::daemon_app(asio::io_context& loop, std::string config_path, config::daemon_config initial)
    : loop_(loop),
      config_path_(std::move(config_path)),
      config_(std::move(initial)),
      metrics_(version_string(), revision_string()),
      alerts_(loop.get_executor(),
              delivery_observer{
                  [this](const std::string& receiver, delivery_outcome outcome) {
                      metrics_.count_notification(receiver, to_string(outcome));
                  },
                  [this](const std::string& receiver, std::size_t length) {
                      metrics_.set_notification_queue_length(receiver, length);
                  }}),
      api_(*this),
      server_(loop.get_executor(), limits_from(config_.server),
              [this](const http_request& request) { return api_.handle(request); }),
      publisher_(loop.get_executor(), metrics_, [this] { refresh_derived_metrics(); }),
      reload_signal_(loop, SIGHUP),
      stop_signals_(loop, SIGTERM, SIGINT) {}

daemon_app::~daemon_app() {
    for (auto& [name, task] : tasks_) task->stop(true);
    for (auto& [name, entry] : databases_) entry.database->close();
    for (auto& [name, set] : sets_) set.discover->close();
}

void daemon_app::start() {
    server_.set_tls(tls_context_for(config_.server));
    server_.listen(config_.server.host, config_.server.port);
    std::error_code ec;
    std::filesystem::create_directories(config_.state_dir, ec);
    if (ec) throw std::runtime_error(fmt::format("cannot create state_dir '{}': {}", config_.state_dir, ec.message()));
    metrics_.on_change([this] { publisher_.changed(); });
    publisher_.start();
    if (config_.cluster) {
        const auto& settings = *config_.cluster;
        const auto database = std::find_if(config_.databases.begin(), config_.databases.end(),
                                           [&](const auto& d) { return d.name == settings.database; });
        application_name_ = "invariantd/" + settings.member;
        cluster_ = std::make_unique<cluster::coordinator>(
            loop_.get_executor(), cluster::coordinator_settings{database->dsn, settings.schema, settings.member,
                                                                settings.lease, version_string(), config_path_});
        complete_on(loop_, cluster_->join());  // throws cluster::start_error: exit 70
        cluster_epoch_ = cluster_->epoch();
        metrics_.enable_cluster();
        cluster_->on_change([this] { on_ownership_change(); });
        alerts_.set_cluster_gates([this](const check_instance& instance) { return cluster_->owns(instance.name()); },
                                  [this] { return cluster_->is_member(); });
        complete_on(loop_, open_shared_state());
    } else {
        metrics_.count_state_recovered(alerts_.open(config_.state_dir));
    }
    auto initial = config_;
    config_ = {};
    apply(std::move(initial));
    // The initial load counts as a successful load for both reload gauges.
    metrics_.set_config_reload(true, unix_seconds(system_clock::now()));
    if (cluster_) {
        apply_shared_results(alerts_.take_shared_results());
        cluster_->start();
        publish_cluster_metrics();
        asio::co_spawn(loop_, cluster_sweep_loop(), log_escaped_exception{"cluster sweep"});
    }
    server_.start();
    asio::co_spawn(loop_, watch_reload_signal(), log_escaped_exception{"reload signal"});
    asio::co_spawn(loop_, watch_stop_signals(), log_escaped_exception{"stop signals"});
    const auto endpoint = server_.local_endpoint();
    spdlog::info("invariantd {} listening on {}:{} with {} checks on {} databases", version_string(),
                 endpoint.address().to_string(), endpoint.port(), tasks_.size(), databases_.size());
}

void daemon_app::apply(config::daemon_config next) {
    secret_registry::global().add(next.secrets);
    api_.configure_basic_auth(next.server.basic_auth);
    metrics_.set_duration_buckets(next.server.duration_buckets.empty() ? default_duration_buckets()
                                                                        : next.server.duration_buckets);

    // Sets first: a set whose definition changed is replaced whole (members rediscovered).
    std::map<std::string, set_entry> sets;
    for (const auto& db_config : next.databases) {
        if (!db_config.is_set()) continue;
        auto existing = sets_.find(db_config.name);
        if (existing != sets_.end() && existing->second.config == db_config) {
            sets.emplace(db_config.name, std::move(existing->second));
            sets_.erase(existing);
            continue;
        }
        auto discover_config = db_config;
        discover_config.max_connections = 1;  // its own connection, outside the set's bound
        set_entry entry{db_config,
                        make_database(loop_.get_executor(), discover_config, application_name_),
                        make_member_resources(loop_.get_executor(), db_config),
                        {},
                        true,
                        {},
                        std::make_shared<asio::steady_timer>(loop_)};
        metrics_.add_database(db_config.name);
        asio::co_spawn(loop_, discover_loop(db_config.name, entry.next_discovery),
                       log_escaped_exception{"database set discovery"});
        sets.emplace(db_config.name, std::move(entry));
    }
    for (auto& [name, old] : sets_) {
        old.next_discovery->cancel();
        old.discover->close();
        if (!sets.contains(name)) metrics_.remove_database(name);
        for (const auto& member : old.members) {
            const auto member_name = name + "/" + member;
            if (auto it = databases_.find(member_name); it != databases_.end()) {
                it->second.database->close();
                databases_.erase(it);
                metrics_.remove_database(member_name);
            }
        }
    }
    sets_ = std::move(sets);

    std::map<std::string, database_entry> databases;
    for (const auto& db_config : next.databases) {
        if (db_config.is_set()) continue;
        auto existing = databases_.find(db_config.name);
        if (existing != databases_.end() && existing->second.config == db_config) {
            databases.emplace(db_config.name, std::move(existing->second));
            databases_.erase(existing);
            continue;
        }
        database_entry entry{db_config, make_database(loop_.get_executor(), db_config, application_name_), true, {}};
        metrics_.add_database(db_config.name);
        databases.emplace(db_config.name, std::move(entry));
    }
    for (auto& [name, old] : databases_) {
        const auto slash = name.find('/');
        if (slash != std::string::npos && sets_.contains(name.substr(0, slash))) {
            databases.emplace(name, std::move(old));  // a member of a set that stays
            continue;
        }
        old.database->close();
        if (!databases.contains(name)) metrics_.remove_database(name);
    }
    databases_ = std::move(databases);

    for (const auto& receiver : next.receivers) metrics_.add_receiver(receiver.name);
    alerts_.configure(next.receivers);
    alerts_.configure_checks(next.checks, next.maintenance);
    reconcile_tasks(next);
    config_ = std::move(next);
}

std::string daemon_app::database_of(const config::check_config& check, const check_instance& instance) {
    return instance.member().empty() ? check.database : check.database + "/" + instance.member();
}

void daemon_app::reconcile_tasks(const config::daemon_config& config) {
    std::map<std::string, std::shared_ptr<check_task>> tasks;
    auto add = [&](const config::check_config& check, const check_instance& instance,
                   const std::shared_ptr<db::database>& database) {
        auto existing = tasks_.find(instance.name());
        if (existing != tasks_.end() && existing->second->config() == check &&
            existing->second->database() == database) {
            tasks.emplace(instance.name(), existing->second);
            tasks_.erase(existing);
            return;
        }
        if (existing != tasks_.end()) {
            // Replaced: its series start afresh with the new definition's labels.
            existing->second->stop(true);
            forget_check_series(existing->first);
            tasks_.erase(existing);
        }
        const auto* module = checks::find_module(check.module);
        auto task = std::make_shared<check_task>(
            loop_.get_executor(), instance, check, *module, database,
            [this](check_task& t, const checks::check_result& result) { on_result(t, result); });
        // A maintenance window with action pause keeps the check from running at all.
        // In cluster mode only the owner runs it (SPEC §12).
        task->set_run_gate([this, name = instance.name()] {
            if (!runs_here(name)) return false;
            const auto* cover = alerts_.cover(name);
            return cover == nullptr || !cover->pause;
        });
        export_check(*task, runs_here(instance.name()));
        tasks.emplace(instance.name(), task);
        task->start();
    };
    for (const auto& check : config.checks) {
        if (auto set = sets_.find(check.database); set != sets_.end()) {
            for (const auto& member : set->second.members) {
                const auto instance = check_instance::of_member(check.name, member);
                add(check, instance, databases_.at(database_of(check, instance)).database);
            }
            continue;
        }
        add(check, check_instance::of(check.name), databases_.at(check.database).database);
    }
    for (auto& [name, old] : tasks_) {
        old->stop(true);
        forget_check_series(name);
        spdlog::info("check '{}' removed", name);
    }
    tasks_ = std::move(tasks);
    if (cluster_) publish_cluster_metrics();
    std::set<check_instance> configured;
    for (const auto& [name, task] : tasks_) configured.insert(task->instance());
    alerts_.retain(configured);
}

asio::awaitable<void> daemon_app::discover_loop(std::string set_name, std::shared_ptr<asio::steady_timer> timer) {
    while (!shutting_down_) {
        auto it = sets_.find(set_name);
        if (it == sets_.end() || it->second.next_discovery != timer) co_return;  // the set was replaced
        auto database = it->second.discover;
        const auto set_config = it->second.config;
        discovered_members found;
        std::string failure;
        try {
            found = co_await discover_members(*database, set_config);
        } catch (const std::exception& e) {
            failure = secret_registry::global().redact(e.what());
        }
        it = sets_.find(set_name);
        if (it == sets_.end() || it->second.next_discovery != timer || shutting_down_) co_return;
        auto& set = it->second;
        set.up = failure.empty();
        if (!failure.empty()) {
            // Members stay as they were: a failed discovery is not "every tenant is gone".
            set.error = "discover failed: " + failure;
            spdlog::error("database set '{}': {}", set_name, set.error);
        } else {
            set.error = fmt::format("{}", fmt::join(found.problems, "; "));
            for (const auto& problem : found.problems) spdlog::warn("database set '{}': {}", set_name, problem);
            update_members(set, std::move(found.members));
        }
        metrics_.set_database_up(set_name, set.up && found.problems.empty());
        timer->expires_after(set.config.discover_interval);
        boost::system::error_code ec;
        co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
    }
}

void daemon_app::update_members(set_entry& set, std::vector<std::string> members) {
    if (members == set.members) return;
    const std::set<std::string> next(members.begin(), members.end());
    for (const auto& gone : set.members) {
        if (next.contains(gone)) continue;
        const auto name = set.config.name + "/" + gone;
        spdlog::info("database set '{}': member '{}' is gone", set.config.name, gone);
        if (auto it = databases_.find(name); it != databases_.end()) {
            it->second.database->close();
            databases_.erase(it);
        }
        metrics_.remove_database(name);
    }
    for (const auto& member : members) {
        const auto name = set.config.name + "/" + member;
        if (databases_.contains(name)) continue;
        spdlog::info("database set '{}': member '{}' found", set.config.name, member);
        auto member_config = set.config;
        member_config.name = name;
        databases_.emplace(name, database_entry{member_config,
                                                make_member_database(loop_.get_executor(), set.config, member, set.shared, application_name_),
                                                true,
                                                {}});
        metrics_.add_database(name);
    }
    set.members = std::move(members);
    reconcile_tasks(config_);
}

void daemon_app::export_check(const check_task& task, bool wanted) {
    const auto& name = task.instance().name();
    if (wanted == exported_.contains(name)) return;
    if (wanted) {
        if (registered_.insert(name).second)
            metrics_.add_check(name, task.config().module, database_of(task.config(), task.instance()));
        metrics_.set_alert_state(name, alerts_.book().state(task.instance()));
        // Cluster mode: a check that came here exports its last result (stored by its last
        // owner) at once, before its first run here.
        const auto& status = task.status();
        if (status.last_good && status.last_good->started != (status.last ? status.last->started : system_clock::time_point{}))
            metrics_.record_run(name, *status.last_good, classify(task.config(), *status.last_good), false);
        if (status.last) metrics_.record_run(name, *status.last, classify(task.config(), *status.last), false);
        exported_.insert(name);
    } else {
        exported_.erase(name);
        // Cluster mode keeps the series registered and hidden (publish_cluster_metrics):
        // removing them one by one costs a scan of each family.
        if (!cluster_) forget_check_series(name);
    }
}

void daemon_app::forget_check_series(const std::string& name) {
    metrics_.remove_check(name);
    registered_.erase(name);
    exported_.erase(name);
}

void daemon_app::on_ownership_change() {
    if (shutting_down_ || !cluster_) return;
    if (cluster_->is_member() && cluster_->epoch() != cluster_epoch_) {
        // Rejoined under a new epoch: notifications claimed under the old one may already
        // be another member's; they are let go and claimed again by the sweep.
        cluster_epoch_ = cluster_->epoch();
        alerts_.release_claims();
    }
    std::set<check_instance> gained;
    std::size_t moved_away = 0;
    for (const auto& [name, task] : tasks_) {
        const bool mine = cluster_->owns(name);
        if (mine && !exported_.contains(name) && !adopting_.contains(name)) {
            adopting_.insert(name);
            gained.insert(task->instance());
        } else if (!mine && exported_.contains(name)) {
            export_check(*task, false);
            ++moved_away;
            spdlog::debug("cluster: check '{}' moved to member '{}'", name, cluster_->owner_of(name).value_or("(none)"));
        }
    }
    // One line per change, not per check: thousands move at once when a member comes or goes.
    if (moved_away > 0 || !gained.empty())
        spdlog::info("cluster: {} checks moved to other members, {} came here", moved_away, gained.size());
    if (!gained.empty()) asio::co_spawn(loop_, adopt_checks(std::move(gained)), log_escaped_exception{"cluster adopt"});
    publish_cluster_metrics();
}

asio::awaitable<void> daemon_app::adopt_checks(std::set<check_instance> instances) {
    bool read = true;
    try {
        co_await alerts_.adopt(instances);
    } catch (const std::exception& e) {
        // Not run until its state is known: the next sweep tries again.
        spdlog::error("cluster: cannot read the shared state of {} checks: {}", instances.size(), e.what());
        read = false;
    }
    for (const auto& instance : instances) adopting_.erase(instance.name());
    if (!read || shutting_down_) co_return;
    for (const auto& instance : instances) {
        auto it = tasks_.find(instance.name());
        if (it == tasks_.end() || !runs_here(instance.name())) continue;
        export_check(*it->second, true);
        spdlog::debug("cluster: check '{}' now runs here", instance.name());
        it->second->request_run();
    }
    publish_cluster_metrics();
}

asio::awaitable<void> daemon_app::cluster_sweep_loop() {
    asio::steady_timer timer(loop_);
    bool failing = false;
    while (!shutting_down_) {
        timer.expires_after(cluster_->lease() / 3);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (shutting_down_) break;
        if (!cluster_->is_member()) continue;
        try {
            auto results = co_await alerts_.sweep(results_watermark_);
            apply_shared_results(std::move(results));
            if (failing) spdlog::info("cluster: the shared state answers again");
            failing = false;
        } catch (const std::exception& e) {
            if (!failing) spdlog::error("cluster: cannot read the shared state: {}", e.what());
            failing = true;
        }
        on_ownership_change();  // retries adoptions that failed
    }
}

void daemon_app::apply_shared_results(std::vector<state::stored_result> results) {
    for (auto& stored : results) {
        if (!stored.written.empty()) results_watermark_ = stored.written;
        auto it = tasks_.find(stored.instance);
        if (it == tasks_.end() || exported_.contains(stored.instance)) continue;  // its own runs count here
        auto status = shared_result_from(stored.document);
        if (!status) continue;
        if (status->last) {
            // The chart of a check run elsewhere: the owner's newest run (one per sweep at most).
            const auto outcome = classify(it->second->config(), *status->last);
            std::optional<double> value;
            if (succeeded(outcome)) value = status->last->output.value;
            alerts_.mirror_history(it->second->instance(), {status->last->started, value, outcome});
        }
        it->second->adopt_status(std::move(*status));
    }
}

asio::awaitable<void> daemon_app::open_shared_state() {
    const auto& settings = *config_.cluster;
    const auto database = std::find_if(config_.databases.begin(), config_.databases.end(),
                                       [&](const auto& d) { return d.name == settings.database; });
    auto store = std::make_unique<cluster::pg_state_store>(loop_.get_executor(), database->dsn, settings.schema,
                                                           settings.member, settings.lease, cluster_->epoch_token());
    // Switching to cluster mode: this member's state_dir (a single daemon's alert states,
    // ledgers, silences) is imported once, for keys the shared store does not know yet, so
    // the switch does not re-page. The marker keeps a later start from resurrecting them.
    const auto outbox = std::filesystem::path(config_.state_dir) / "outbox.db";
    const auto marker = std::filesystem::path(config_.state_dir) / "imported-to-cluster";
    if (std::filesystem::exists(outbox) && !std::filesystem::exists(marker)) {
        try {
            state::sqlite_state_store local(outbox.string());
            const auto imported = co_await store->import_missing(local);
            std::ofstream(marker) << "state_dir imported into the cluster's shared state; not read again\n";
            spdlog::info("cluster: imported {} alert records from {} into the shared state", imported, outbox.string());
        } catch (const std::exception& e) {
            throw cluster::start_error(
                secret_registry::global().redact(fmt::format("cluster: cannot import {}: {}", outbox.string(), e.what())));
        }
    }
    try {
        co_await alerts_.open_shared(std::move(store));
    } catch (const std::exception& e) {
        throw cluster::start_error(
            secret_registry::global().redact(fmt::format("cluster: cannot read the shared state: {}", e.what())));
    }
}

void daemon_app::publish_cluster_metrics() {
    if (!cluster_) return;
    std::set<std::string> hidden;
    std::set_difference(registered_.begin(), registered_.end(), exported_.begin(), exported_.end(),
                        std::inserter(hidden, hidden.end()));
    metrics_.set_hidden_checks(std::move(hidden));
    metrics_.set_cluster(cluster_->live_members().size(), cluster_->is_member() ? exported_.size() : 0,
                         cluster_->is_member(), cluster_->rebalances());
}

void daemon_app::on_result(check_task& task, const checks::check_result& result) {
    const auto& check = task.config();
    const auto& instance = task.instance();
    if (!runs_here(instance.name())) {
        // The check moved (or this member lost its lease) while it ran: its new owner's
        // result counts, this one is discarded (SPEC §12).
        spdlog::info("cluster: discarding the result of '{}': the check no longer runs here", instance.name());
        return;
    }
    const auto& status = task.status();
    const auto outcome = classify(check, result);
    metrics_.record_run(instance.name(), result, outcome);
    const auto cleared =
        alerts_.observe(check, instance,
                        run_observation{outcome, result.started, status.last_good ? &status.last_good->output : nullptr,
                                        result.error, status.consecutive_failures});
    if (const auto* ledger = alerts_.book().ledger(instance); ledger != nullptr && succeeded(outcome)) {
        const auto fresh = ledger->new_count();
        metrics_.record_offenders(instance.name(), fresh, ledger->offenders().size() - fresh, cleared,
                                  ledger->oldest_first_seen());
    }
    metrics_.set_alert_state(instance.name(), alerts_.book().state(instance));
    std::optional<double> value;
    if (succeeded(outcome)) value = result.output.value;
    // Cluster mode: the result goes to the shared store with the history point, one write.
    alerts_.record_history(instance, {result.started, value, outcome},
                           cluster_ ? shared_result_document(status) : std::string());

    const auto database_name = database_of(check, instance);
    auto entry = databases_.find(database_name);
    if (entry == databases_.end() || entry->second.database != task.database()) return;
    const bool up = !result.database_unavailable;
    if (up != entry->second.up) {
        if (up) spdlog::info("database '{}' is reachable again", database_name);
        else spdlog::error("database '{}' is unavailable: {}", database_name, result.error);
    }
    entry->second.up = up;
    entry->second.error = up ? std::string() : result.error;
    metrics_.set_database_up(database_name, up);
}

std::vector<std::string> daemon_app::reload() {
    std::vector<std::string> errors;
    try {
        auto next = config::load_config_file(config_path_);
        if (next.server.listen != config_.server.listen)
            spdlog::warn("server.listen changed to {}; the listener moves only on restart", next.server.listen);
        if (next.cluster != config_.cluster)
            spdlog::warn("the cluster section changed; it takes effect only on restart");
        // Certificates are re-read on every reload, so rotated files take effect for new
        // connections; files that no longer load fail the reload like a configuration error.
        std::shared_ptr<asio::ssl::context> tls;
        try {
            tls = tls_context_for(next.server);
        } catch (const std::exception& e) {
            throw config::config_exception({{config_path_, 0, 0, fmt::format("server.tls: {}", e.what())}});
        }
        configure_logging(next.log.level, next.log.format);
        server_.set_tls(std::move(tls));
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
    publisher_.stop();
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
    // Leaving deletes the member row, so the other members take its checks at once.
    if (cluster_) co_await cluster_->leave();
    for (auto& [name, entry] : databases_) entry.database->close();
    for (auto& [name, set] : sets_) {
        set.next_discovery->cancel();
        set.discover->close();
    }
    spdlog::info("invariantd stopped");
    loop_.stop();
}

void daemon_app::refresh_derived_metrics() {
    for (const auto& [name, task] : tasks_) metrics_.set_check_silenced(name, alerts_.cover(task->instance().name()) != nullptr);
    for (const auto& [name, entry] : databases_) {
        const auto stats = entry.database->stats();
        metrics_.set_database_connections(name, stats.idle, stats.busy);
    }
}

asio::awaitable<std::string> daemon_app::metrics_body(bool gzip) {
    auto prepared = co_await publisher_.current();
    co_return publisher_.scrape_body(*prepared, gzip);
}

asio::awaitable<void> daemon_app::metrics_settled() { co_await publisher_.fresh(); }

std::vector<database_health> daemon_app::databases() const {
    std::vector<database_health> out;
    for (const auto& [name, entry] : databases_) out.push_back({name, entry.up, entry.error});
    // A set is up when its discover statement ran and named nothing it had to leave out.
    for (const auto& [name, set] : sets_) out.push_back({name, set.up && set.error.empty(), set.error});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
}

}  // namespace invariantd
