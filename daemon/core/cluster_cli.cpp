#include "daemon/core/cluster_cli.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "daemon/db/pg_client.hpp"
#include "daemon/cluster/cluster_schema.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/core/cli.hpp"

namespace invariantd {

namespace {

constexpr const char* cluster_usage = R"(usage:
  invariantd cluster init -c FILE [--print]
      create the coordination schema named by the configuration's cluster section
      (idempotent), or print the SQL for a DBA with --print; exit 0, 2 database error,
      78 configuration error
)";

}  // namespace

int command_cluster(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << cluster_usage;
        return args.empty() ? exit_usage : exit_ok;
    }
    if (args[0] != "init") {
        std::cerr << "invariantd cluster: unknown command '" << args[0] << "'\n" << cluster_usage;
        return exit_usage;
    }
    std::string config_path = "invariantd.yaml";
    bool print = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size()) {
            config_path = args[++i];
        } else if (args[i] == "--print") {
            print = true;
        } else {
            std::cerr << "invariantd cluster init: unexpected argument '" << args[i] << "'\n"
                      << cluster_usage;
            return exit_usage;
        }
    }
    config::daemon_config config;
    try {
        config = config::load_config_file(config_path);
    } catch (const config::config_exception& e) {
        for (const auto& error : e.errors()) std::cerr << error.to_string() << '\n';
        return exit_config;
    }
    if (!config.cluster) {
        std::cerr << config_path << ": no 'cluster' section: cluster init needs cluster.database\n";
        return exit_config;
    }
    secret_registry::global().add(config.secrets);
    const auto& schema = config.cluster->schema;
    if (print) {
        std::cout << cluster::init_script(schema);
        return exit_ok;
    }
    const auto database = std::find_if(config.databases.begin(), config.databases.end(),
                                       [&](const auto& d) { return d.name == config.cluster->database; });
    asio::io_context loop(1);
    db::pg_client connection(loop.get_executor(),
                             {.name = fmt::format("database '{}'", database->name),
                              .dsn = database->dsn,
                              .application_name = "invariantd/" + config.cluster->member,
                              .connect_timeout = duration(10000),
                              .statement_timeout = duration(30000)});
    try {
        const int before =
            complete_on(loop, cluster::apply_init(connection, schema, steady_clock::now() + std::chrono::seconds(60)));
        if (before == cluster::schema_version)
            std::cout << fmt::format("cluster schema '{}' in database '{}' is already at version {}\n",
                                     schema, database->name, before);
        else
            std::cout << fmt::format("cluster schema '{}' in database '{}' now at version {} (was {})\n",
                                     schema, database->name, cluster::schema_version,
                                     before == 0 ? std::string("absent") : std::to_string(before));
        return exit_ok;
    } catch (const std::exception& e) {
        std::cerr << "invariantd cluster init: database '" << database->name
                  << "': " << secret_registry::global().redact(e.what()) << '\n';
        return exit_check_error;
    }
}

}  // namespace invariantd
