#include "daemon/core/cli.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "checks/registry.hpp"
#include "daemon/common/logging.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/alerting/run_outcome.hpp"
#include "daemon/core/check_runner.hpp"
#include "daemon/core/cluster_cli.hpp"
#include "daemon/core/daemon_app.hpp"
#include "daemon/core/database_factory.hpp"
#include "daemon/core/database_sets.hpp"
#include "daemon/core/explain_cli.hpp"
#include "daemon/core/silence_cli.hpp"
#include "daemon/core/status_json.hpp"
#include "daemon/alerting/summary_template.hpp"

namespace invariantd {
namespace {

constexpr const char* usage_text = R"(usage:
  invariantd [run] [-c FILE]              run the daemon (default config: ./invariantd.yaml)
  invariantd validate -c FILE             check the configuration, print a summary; exit 0 or 78
  invariantd once -c FILE [--check NAME]... [--json] [--baseline PREV.json]
                                          run checks once; exit 0 all pass, 1 a condition holds,
                                          2 a check could not run; with --baseline (an earlier
                                          once --json output) 1 only for offenders not in it
  invariantd explain -c FILE [--check NAME]...
                                          run checks once, printing each statement with the
                                          planner's estimated cost and rows and the sequential
                                          scans over large tables; exit 0, 2 a database or
                                          statement failed, 78 configuration error
  invariantd modules                      list check modules with their parameters and defaults
  invariantd silence add|list|expire ...  silences on a running daemon (invariantd silence --help)
  invariantd cluster init -c FILE [--print]
                                          create (or print) the coordination schema of cluster
                                          mode; exit 0, 2 database error, 78 configuration error
  invariantd --version
)";

struct options {
    std::string command = "run";
    std::string config_path = "invariantd.yaml";
    std::vector<std::string> only_checks;
    bool json = false;
    std::optional<std::string> baseline_path;
};

/// Parses argv; returns nullopt after printing a usage error.
std::optional<options> parse_arguments(int argc, char** argv) {
    options opts;
    std::vector<std::string> args(argv + 1, argv + argc);
    std::size_t i = 0;
    if (i < args.size() && !args[i].empty() && args[i][0] != '-') opts.command = args[i++];
    if (opts.command != "run" && opts.command != "validate" && opts.command != "once" && opts.command != "modules" &&
        opts.command != "explain") {
        std::cerr << "invariantd: unknown command '" << opts.command << "'\n" << usage_text;
        return std::nullopt;
    }
    for (; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&](const char* name) -> std::optional<std::string> {
            if (i + 1 >= args.size()) {
                std::cerr << "invariantd: " << name << " needs a value\n";
                return std::nullopt;
            }
            return args[++i];
        };
        if (arg == "-c" || arg == "--config") {
            auto v = value("-c");
            if (!v) return std::nullopt;
            opts.config_path = *v;
        } else if (arg.rfind("--config=", 0) == 0) {
            opts.config_path = arg.substr(9);
        } else if (arg == "--check" && (opts.command == "once" || opts.command == "explain")) {
            auto v = value("--check");
            if (!v) return std::nullopt;
            opts.only_checks.push_back(*v);
        } else if (arg == "--json" && opts.command == "once") {
            opts.json = true;
        } else if (arg == "--baseline" && opts.command == "once") {
            auto v = value("--baseline");
            if (!v) return std::nullopt;
            opts.baseline_path = *v;
        } else {
            std::cerr << "invariantd: unexpected argument '" << arg << "'\n" << usage_text;
            return std::nullopt;
        }
    }
    return opts;
}

void print_config_errors(const config::config_exception& e) {
    for (const auto& error : e.errors()) std::cerr << error.to_string() << '\n';
    std::cerr << fmt::format("invariantd: configuration invalid ({} error{})\n", e.errors().size(),
                             e.errors().size() == 1 ? "" : "s");
}

/// The configuration at `path`, or nullopt after printing every error to stderr.
std::optional<config::daemon_config> load_or_report(const std::string& path) {
    try {
        return config::load_config_file(path);
    } catch (const config::config_exception& e) {
        print_config_errors(e);
        return std::nullopt;
    }
}

std::string describe_default(const checks::param_spec& spec) {
    if (spec.required) return "(required)";
    if (spec.kind == checks::param_kind::duration && spec.default_value.is_number())
        return format_duration(duration{spec.default_value.get<std::int64_t>()});
    if (spec.default_value.is_null()) return "null";
    if (spec.default_value.is_string()) return spec.default_value.get<std::string>();
    return spec.default_value.dump();
}

/// One mapping of a nested default as a YAML flow mapping, keys in the schema's field order.
std::string flow_mapping(const std::vector<checks::param_spec>& fields, const nlohmann::json& value) {
    std::vector<std::string> parts;
    for (const auto& field : fields) {
        auto it = value.find(field.name);
        if (it == value.end()) continue;
        parts.push_back(field.name + ": " + (it->is_string() ? it->get<std::string>() : it->dump()));
    }
    return "{" + fmt::format("{}", fmt::join(parts, ", ")) + "}";
}

void print_params(const std::vector<checks::param_spec>& specs, int indent) {
    for (const auto& spec : specs) {
        std::string type = checks::describe(spec.kind);
        if (spec.kind == checks::param_kind::choice) type = fmt::format("{}", fmt::join(spec.choices, "|"));
        if (spec.kind == checks::param_kind::object || spec.kind == checks::param_kind::objects) {
            std::cout << fmt::format("{:{}}{}: ({})  {}\n", "", indent, spec.name, type, spec.help);
            // A nested default is printed whole: the operator must see what is checked when
            // the parameter is left out (orphans' two runbook relations, for instance).
            if (spec.default_value.is_array() && spec.default_value.empty()) {
                std::cout << fmt::format("{:{}}default: []\n", "", indent + 4);
            } else if (spec.default_value.is_array()) {
                std::cout << fmt::format("{:{}}default:\n", "", indent + 4);
                for (const auto& item : spec.default_value)
                    std::cout << fmt::format("{:{}}- {}\n", "", indent + 6, flow_mapping(spec.fields, item));
            } else if (spec.default_value.is_object()) {
                std::cout << fmt::format("{:{}}default: {}\n", "", indent + 4, flow_mapping(spec.fields, spec.default_value));
            } else if (spec.nullable) {
                std::cout << fmt::format("{:{}}default: null\n", "", indent + 4);
            }
            print_params(spec.fields, indent + 4);
            continue;
        }
        std::cout << fmt::format("{:{}}{}: {}  ({}) {}\n", "", indent, spec.name, describe_default(spec), type, spec.help);
    }
}

int command_modules() {
    for (const auto* module : checks::all_modules()) {
        std::cout << module->name() << " — " << module->summary() << '\n';
        print_params(module->parameters(), 4);
        std::cout << '\n';
    }
    return exit_ok;
}

int command_validate(const options& opts) {
    const auto loaded = load_or_report(opts.config_path);
    if (!loaded) return exit_config;
    const auto& config = *loaded;
    std::cout << fmt::format("{}: configuration OK: {} database{}, {} check{}, {} receiver{}\n", opts.config_path,
                             config.databases.size(), config.databases.size() == 1 ? "" : "s",
                             config.checks.size(), config.checks.size() == 1 ? "" : "s",
                             config.receivers.size(), config.receivers.size() == 1 ? "" : "s");
    std::cout << fmt::format("  listen {}  state_dir {}\n", config.server.listen, config.state_dir);
    if (config.cluster)
        std::cout << fmt::format("  cluster member {}  coordination database {}  schema {}  lease {}\n",
                                 config.cluster->member, config.cluster->database, config.cluster->schema,
                                 format_duration(config.cluster->lease));
    for (const auto& db : config.databases)
        std::cout << fmt::format("  database {:<20} driver {}\n", db.name, db::to_string(db.driver));
    for (const auto& check : config.checks) {
        std::cout << fmt::format("  check {:<28} {:<18} on {:<14} every {:<6} alert {}\n", check.name,
                                 check.module, check.database, format_duration(check.interval),
                                 check.alert.when ? "when value " + check.alert.when->to_string() : "none");
    }
    return exit_ok;
}

/// The offender keys per check of an earlier `once --json` output, or nullopt after printing
/// what is wrong with the file.
std::optional<std::map<std::string, std::set<std::string>>> read_baseline(const std::string& path) {
    auto fail = [&](const std::string& what) {
        std::cerr << fmt::format("invariantd: baseline {}: {}\n", path, what);
        return std::nullopt;
    };
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(fmt::format("cannot read it: {}", std::strerror(errno)));
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return fail(fmt::format("not JSON ({})", e.what()));
    }
    if (!document.is_object() || !document.contains("checks") || !document["checks"].is_array())
        return fail("not an 'invariantd once --json' output: no \"checks\" list");
    std::map<std::string, std::set<std::string>> keys;
    for (std::size_t i = 0; i < document["checks"].size(); ++i) {
        const auto& entry = document["checks"][i];
        if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string())
            return fail(fmt::format("checks[{}] has no \"name\"", i));
        if (!entry.contains("offenders") || !entry["offenders"].is_array())
            return fail(fmt::format("checks[{}] ('{}') has no \"offenders\" list (written before offenders existed?)", i,
                                    entry["name"].get<std::string>()));
        auto& set = keys[entry["name"].get<std::string>()];
        for (const auto& key : entry["offenders"]) {
            if (!key.is_string()) return fail(fmt::format("checks[{}] has an offender that is not a string", i));
            set.insert(key.get<std::string>());
        }
    }
    return keys;
}

/// The checks `--check` names (every check without it), or nullopt after naming one that
/// does not exist.
std::optional<std::vector<const config::check_config*>> select_checks(const config::daemon_config& config,
                                                                      const options& opts) {
    std::vector<const config::check_config*> selected;
    for (const auto& name : opts.only_checks) {
        const auto* check = config.find_check(name);
        if (check == nullptr) {
            std::cerr << fmt::format("invariantd: no check named '{}' in {}\n", name, opts.config_path);
            return std::nullopt;
        }
        selected.push_back(check);
    }
    if (opts.only_checks.empty())
        for (const auto& check : config.checks) selected.push_back(&check);
    return selected;
}

int command_once(const options& opts) {
    auto loaded = load_or_report(opts.config_path);
    if (!loaded) return exit_config;
    std::optional<std::map<std::string, std::set<std::string>>> baseline;
    if (opts.baseline_path) {
        baseline = read_baseline(*opts.baseline_path);
        if (!baseline) return exit_config;
    }
    const auto& config = *loaded;
    configure_logging(config.log.level == "info" ? "warn" : config.log.level, config.log.format);
    secret_registry::global().add(config.secrets);
    const auto chosen = select_checks(config, opts);
    if (!chosen) return exit_usage;
    const auto& selected = *chosen;

    asio::io_context loop;
    std::map<std::string, std::shared_ptr<db::database>> databases;
    for (const auto& db : config.databases) databases[db.name] = make_database(loop.get_executor(), db);

    // A check on a database set runs once per member: discover the members of the sets in
    // use first (a set whose discovery fails makes its checks errors).
    std::map<std::string, std::vector<std::string>> members;
    std::map<std::string, std::string> discovery_errors;
    for (const auto* check : selected) {
        const auto* db = config.find_database(check->database);
        if (!db->is_set() || members.contains(db->name) || discovery_errors.contains(db->name)) continue;
        members[db->name];
        asio::co_spawn(
            loop,
            [&, db]() -> asio::awaitable<void> {
                try {
                    auto found = co_await discover_members(*databases.at(db->name), *db);
                    for (const auto& problem : found.problems)
                        std::cerr << fmt::format("invariantd: database set '{}': {}\n", db->name, problem);
                    members[db->name] = std::move(found.members);
                } catch (const std::exception& e) {
                    discovery_errors[db->name] = secret_registry::global().redact(e.what());
                }
            },
            log_escaped_exception{"once discovery"});
    }
    loop.run();
    loop.restart();

    struct instance_run {
        const config::check_config* check;
        std::string name;      ///< the instance: "<check>" or "<check>/<member>"
        std::string database;  ///< its database: "<set>/<member>" for a member
    };
    std::vector<instance_run> runs;
    std::vector<checks::check_result> results;
    std::map<std::string, member_resources> set_resources;  // one per set: its bound holds here too
    for (const auto* check : selected) {
        const auto* db = config.find_database(check->database);
        if (!db->is_set()) {
            runs.push_back({check, check->name, check->database});
            continue;
        }
        if (auto failed = discovery_errors.find(db->name); failed != discovery_errors.end()) {
            runs.push_back({check, check->name, check->database});
            continue;
        }
        for (const auto& member : members[db->name]) {
            const auto member_db = db->name + "/" + member;
            if (!set_resources.contains(db->name))
                set_resources.emplace(db->name, make_member_resources(loop.get_executor(), *db));
            if (!databases.contains(member_db))
                databases[member_db] =
                    make_member_database(loop.get_executor(), *db, member, set_resources.at(db->name));
            runs.push_back({check, check->name + "/" + member, member_db});
        }
    }
    results.resize(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
        if (auto failed = discovery_errors.find(runs[i].database); failed != discovery_errors.end()) {
            results[i].status = checks::run_status::error;
            results[i].error = "database set discovery failed: " + failed->second;
            continue;
        }
        asio::co_spawn(
            loop,
            [&, i]() -> asio::awaitable<void> {
                const auto& check = *runs[i].check;
                results[i] = co_await run_check_once(check, *checks::find_module(check.module),
                                                     *databases.at(runs[i].database));
            },
            log_escaped_exception{"once"});
    }
    loop.run();
    for (auto& [name, database] : databases) database->close();
    databases.clear();

    bool any_error = false;
    bool any_violation = false;
    nlohmann::ordered_json report = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& check = *runs[i].check;
        const auto& instance_name = runs[i].name;
        const auto& result = results[i];
        const std::string outcome = to_string(classify(check, result));
        // With a baseline, a violation counts only with offenders the baseline does not know
        // (a check that names no offenders, sql scalar, counts by its condition alone).
        std::vector<std::string> new_offenders;
        bool counts = outcome == "violation";
        if (baseline && counts && checks::find_module(check.module)->names_offenders(checks::module_args(check.params))) {
            const auto known = baseline->find(instance_name);
            for (const auto& key : result.output.offenders)
                if (known == baseline->end() || !known->second.contains(key)) new_offenders.push_back(key);
            counts = !new_offenders.empty();
        }
        if (result.status != checks::run_status::ok) any_error = true;
        else if (counts) any_violation = true;
        if (opts.json) {
            auto entry = once_result_to_json(check, result, outcome);
            entry["name"] = instance_name;
            entry["database"] = runs[i].database;
            if (baseline) entry["new_offenders"] = new_offenders;
            // The alert that would fire (its `for` and notifications aside) — issue #5 sends it.
            entry["summary"] = outcome == "violation" ? nlohmann::ordered_json(render_summary(check, result.output))
                                                      : nlohmann::ordered_json(nullptr);
            entry["severity"] = check.alert.severity;
            report.push_back(std::move(entry));
            continue;
        }
        const std::string condition = check.alert.when ? " (alert when " + check.alert.when->to_string() + ")" : "";
        if (result.status != checks::run_status::ok) {
            std::cout << fmt::format("{:<9} {}: {}\n", outcome == "timeout" ? "TIMEOUT" : "ERROR", instance_name, result.error);
            continue;
        }
        std::cout << fmt::format("{:<9} {}: value {}{}  [{} on {}, {:.0f} ms]\n",
                                 outcome == "violation" ? "VIOLATION" : "ok", instance_name,
                                 config::format_number(result.output.value), condition, check.module, runs[i].database,
                                 result.duration_seconds * 1000);
        for (const auto& [name, value] : result.output.details)
            std::cout << fmt::format("          {} = {}\n", name, config::format_number(value));
        if (outcome == "violation") {
            std::cout << fmt::format("          would fire ({}): {}\n", check.alert.severity,
                                     render_summary(check, result.output));
            for (const auto& sample : result.output.samples) std::cout << "          - " << sample.dump() << '\n';
        }
        for (const auto& key : new_offenders) std::cout << fmt::format("{}: {}\n", instance_name, key);
    }
    const int code = any_error ? exit_check_error : any_violation ? exit_violation : exit_ok;
    if (opts.json) {
        std::cout << nlohmann::ordered_json{{"checks", report}, {"exit_code", code}}.dump(2, ' ', false,
                                                                                   nlohmann::json::error_handler_t::replace)
                  << '\n';
    }
    return code;
}

/// Sockets are descriptors: the soft limit (often 1024) would cap HTTP connections below
/// server.max_connections, so it is lifted to the hard limit, as Go's runtime does for
/// Prometheus and Alertmanager.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    const auto before = limit.rlim_cur;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
            spdlog::warn("cannot raise the open file limit above {}", before);
            return;
        }
    }
    spdlog::info("open file limit {} (was {})", limit.rlim_cur, before);
}

int command_run(const options& opts) {
    auto config = load_or_report(opts.config_path);
    if (!config) return exit_config;
    configure_logging(config->log.level, config->log.format);
    secret_registry::global().add(config->secrets);
    asio::io_context loop(1);
    raise_descriptor_limit();
    daemon_app app(loop, opts.config_path, std::move(*config));
    try {
        app.start();
    } catch (const std::exception& e) {
        // An unusable listen address or state_dir (outbox): nothing can run safely.
        spdlog::critical("cannot start: {}", e.what());
        return exit_software;
    }
    loop.run();
    return exit_ok;
}

}  // namespace

int run_command_line(int argc, char** argv) {
    if (argc >= 2) {
        const std::string first = argv[1];
        if (first == "--version" || first == "version") {
            std::cout << "invariantd " << version_string() << " (revision " << revision_string() << ")\n";
            return exit_ok;
        }
        if (first == "--help" || first == "-h" || first == "help") {
            std::cout << usage_text;
            return exit_ok;
        }
        if (first == "silence") return command_silence(std::vector<std::string>(argv + 2, argv + argc));
        if (first == "cluster") return command_cluster(std::vector<std::string>(argv + 2, argv + argc));
    }
    const auto opts = parse_arguments(argc, argv);
    if (!opts) return exit_usage;
    if (opts->command == "modules") return command_modules();
    if (opts->command == "validate") return command_validate(*opts);
    if (opts->command == "once") return command_once(*opts);
    if (opts->command == "explain") {
        auto loaded = load_or_report(opts->config_path);
        if (!loaded) return exit_config;
        configure_logging(loaded->log.level == "info" ? "warn" : loaded->log.level, loaded->log.format);
        secret_registry::global().add(loaded->secrets);
        const auto selected = select_checks(*loaded, *opts);
        if (!selected) return exit_usage;
        return command_explain(*loaded, *selected);
    }
    return command_run(*opts);
}

}  // namespace invariantd
