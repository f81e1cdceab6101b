// The deployment files exercised with what runs here: the compose PostgreSQL world and its
// read-only role loaded into a real PostgreSQL 15 and checked with the compose configuration
// nearly verbatim; the Kubernetes configuration validated by the daemon itself.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/support/demo_world.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd::test;

namespace {

std::map<std::string, nlohmann::json> once_by_name(const std::string& config_path, const std::map<std::string, std::string>& env = {}) {
    const auto result = run_command({daemon_binary(), "once", "-c", config_path, "--json"}, {}, env);
    INFO(result.out << result.err);
    REQUIRE(result.exit_code == 1);  // violations found
    std::map<std::string, nlohmann::json> by_name;
    const auto report = nlohmann::json::parse(result.out);
    for (const auto& check : report["checks"]) by_name[check["name"]] = check;
    return by_name;
}

}  // namespace

TEST_CASE("compose: the PostgreSQL demo world, its read-only role and invariantd.yaml give the SQLite demo's figures",
          "[deploy][compose][postgres]") {
    temp_dir dir;
    const auto sqlite_demo = once_by_name(write_demo_world(dir));

    // The init scripts exactly as the postgres image runs them, in order, as the owner
    // (PGHOST etc. stand in for the image's local socket).
    pg_fresh_database("compose_demo");
    const auto password_file = dir.write("invariantd_db_password", "s3cret-demo-pw\n");
    const std::map<std::string, std::string> init_env{
        {"POSTGRES_USER", "invariantd_test"}, {"POSTGRES_DB", "compose_demo"}, {"PGHOST", "127.0.0.1"},
        {"PGPORT", pg_port()}, {"PGPASSWORD", pg_password()},
        {"DEMO_DATA_DIR", source_path("config/demo-data")}, {"INVARIANTD_DB_PASSWORD_FILE", password_file}};
    for (const char* script : {"10-demo-world.sh", "20-invariantd-role.sh"}) {
        const auto init = run_command({"sh", source_path(std::string("deploy/docker/postgres-init/") + script)}, {}, init_env);
        INFO(script << ": " << init.out << init.err);
        REQUIRE(init.exit_code == 0);
        CHECK(init.err.empty());
    }

    // deploy/docker/invariantd.yaml with only the host, the secret's path and the state dir moved.
    std::string config = read_file(source_path("deploy/docker/invariantd.yaml"));
    config = std::regex_replace(config, std::regex("host=postgres dbname=demo"),
                                "host=127.0.0.1 port=" + pg_port() + " dbname=compose_demo");
    config = std::regex_replace(config, std::regex("/run/secrets/invariantd_db_password"), password_file);
    config = std::regex_replace(config, std::regex("state_dir: /var/lib/invariantd"), "state_dir: state");
    const auto compose_demo = once_by_name(dir.write("compose-invariantd.yaml", config));

    REQUIRE(compose_demo.size() == sqlite_demo.size());
    for (const auto& [name, expected] : sqlite_demo) {
        INFO(name);
        REQUIRE(compose_demo.contains(name));
        const auto& actual = compose_demo.at(name);
        CHECK(actual["outcome"] == "violation");
        CHECK(actual["value"] == expected["value"]);
        for (const auto& [detail, value] : expected["details"].items()) {
            if (detail.find("age") != std::string::npos) continue;  // seconds since the world was built
            INFO(detail);
            CHECK(actual["details"][detail] == value);
        }
    }

    // The role can read but not write, even outside invariantd's own read-only transactions.
    const std::string invariantd_dsn = "host=127.0.0.1 port=" + pg_port() +
                                       " dbname=compose_demo user=invariantd password=s3cret-demo-pw";
    CHECK(pg_scalar(invariantd_dsn, "SELECT count(*) FROM staffing.shifts") == 14);
    CHECK_THROWS_WITH(pg_exec(invariantd_dsn, "DELETE FROM pos.sales"), Catch::Contains("read-only transaction"));
    CHECK_THROWS_WITH(pg_exec(invariantd_dsn, "BEGIN READ WRITE; DELETE FROM pos.sales; COMMIT"),
                      Catch::Contains("permission denied"));
}

namespace {

/// Every document of every manifest in deploy/kubernetes/, by kind.
std::multimap<std::string, YAML::Node> kubernetes_documents() {
    std::multimap<std::string, YAML::Node> by_kind;
    for (const char* file : {"configmap.yaml", "deployment.yaml", "service.yaml", "poddisruptionbudget.yaml",
                             "podmonitor.yaml", "servicemonitor.yaml", "secret.example.yaml", "kustomization.yaml",
                             "cluster-init-job.yaml"}) {
        for (const auto& document : YAML::LoadAllFromFile(source_path(std::string("deploy/kubernetes/") + file)))
            by_kind.emplace(document["kind"].as<std::string>(), document);
    }
    return by_kind;
}

YAML::Node only(const std::multimap<std::string, YAML::Node>& documents, const std::string& kind) {
    REQUIRE(documents.count(kind) == 1);
    return documents.find(kind)->second;
}

}  // namespace

TEST_CASE("kubernetes: the manifests agree with each other and the ConfigMap's configuration validates", "[deploy][kubernetes]") {
    const auto documents = kubernetes_documents();
    const auto deployment = only(documents, "Deployment");
    const auto config_map = only(documents, "ConfigMap");
    const auto secret = only(documents, "Secret");
    const auto pod = deployment["spec"]["template"];
    const auto labels = pod["metadata"]["labels"];
    const auto container = pod["spec"]["containers"][0];

    // Probes: liveness on /livez, readiness on /health, both on the container's named port 9898.
    CHECK(container["livenessProbe"]["httpGet"]["path"].as<std::string>() == "/livez");
    CHECK(container["readinessProbe"]["httpGet"]["path"].as<std::string>() == "/health");
    CHECK(container["livenessProbe"]["httpGet"]["port"].as<std::string>() == "http");
    CHECK(container["readinessProbe"]["httpGet"]["port"].as<std::string>() == "http");
    CHECK(container["ports"][0]["name"].as<std::string>() == "http");
    CHECK(container["ports"][0]["containerPort"].as<int>() == 9898);
    CHECK(container["resources"]["requests"]["memory"]);
    CHECK(container["resources"]["limits"]["memory"]);
    // Hardening: non-root as the image's user, nothing writable but the state volume.
    CHECK(pod["spec"]["securityContext"]["runAsNonRoot"].as<bool>());
    CHECK(pod["spec"]["securityContext"]["runAsUser"].as<int>() == 10001);
    CHECK(read_file(source_path("deploy/docker/Dockerfile")).find("USER 10001:10001") != std::string::npos);
    CHECK(container["securityContext"]["readOnlyRootFilesystem"].as<bool>());
    CHECK_FALSE(container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
    CHECK(container["securityContext"]["capabilities"]["drop"][0].as<std::string>() == "ALL");
    // Kubernetes waits longer than invariantd's own 15 s shutdown grace before SIGKILL.
    CHECK(pod["spec"]["terminationGracePeriodSeconds"].as<int>() > 15);
    CHECK(deployment["spec"]["replicas"].as<int>() == 2);

    // Selectors of the Service, the monitors and the budget match the pod's labels and port.
    for (const char* kind : {"Service", "PodMonitor", "ServiceMonitor", "PodDisruptionBudget"}) {
        INFO(kind);
        const auto document = only(documents, kind);
        const auto selector = document["spec"]["selector"]["matchLabels"] ? document["spec"]["selector"]["matchLabels"]
                                                                          : document["spec"]["selector"];
        for (const auto& entry : selector)
            CHECK(labels[entry.first.as<std::string>()].as<std::string>() == entry.second.as<std::string>());
    }
    CHECK(only(documents, "Service")["spec"]["ports"][0]["targetPort"].as<std::string>() == "http");
    CHECK(only(documents, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"].as<std::string>() == "http");
    CHECK(only(documents, "PodMonitor")["spec"]["podMetricsEndpoints"][0]["path"].as<std::string>() == "/metrics");
    for (const auto& resource : only(documents, "Kustomization")["resources"])
        CHECK(std::filesystem::exists(source_path("deploy/kubernetes/" + resource.as<std::string>())));

    // Volumes: every mount has a volume; ConfigMap and Secret names exist.
    std::map<std::string, YAML::Node> volumes;
    for (const auto& volume : pod["spec"]["volumes"])
        volumes.emplace(volume["name"].as<std::string>(), static_cast<const YAML::Node&>(volume));
    std::map<std::string, std::string> mount_paths;
    for (const auto& mount : container["volumeMounts"]) {
        REQUIRE(volumes.contains(mount["name"].as<std::string>()));
        mount_paths[mount["name"].as<std::string>()] = mount["mountPath"].as<std::string>();
    }
    CHECK(volumes["config"]["configMap"]["name"].as<std::string>() == config_map["metadata"]["name"].as<std::string>());
    CHECK(volumes["secrets"]["secret"]["secretName"].as<std::string>() == secret["metadata"]["name"].as<std::string>());

    // The configuration as the pod sees it: secret files where the Secret volume puts them
    // (moved into a temp dir), env from the Secret's keys. `invariantd validate` must accept it.
    temp_dir dir;
    std::string config = config_map["data"]["invariantd.yaml"].as<std::string>();
    const auto secrets_dir = (dir.path() / "secrets").string();
    std::filesystem::create_directories(secrets_dir);
    for (const auto& item : volumes["secrets"]["secret"]["items"]) {
        const auto key = item["key"].as<std::string>();
        REQUIRE(secret["stringData"][key]);
        dir.write("secrets/" + item["path"].as<std::string>(), secret["stringData"][key].as<std::string>());
    }
    config = std::regex_replace(config, std::regex(mount_paths["secrets"]), secrets_dir);
    config = std::regex_replace(config, std::regex(mount_paths["state"]), (dir.path() / "state").string());
    CHECK(config.find("listen: \"0.0.0.0:9898\"") != std::string::npos);
    std::map<std::string, std::string> env;
    for (const auto& variable : container["env"]) {
        if (variable["valueFrom"]["fieldRef"]) {
            // The pod's own name: cluster mode's member.
            CHECK(variable["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>() == "metadata.name");
            env[variable["name"].as<std::string>()] = "invariantd-7d9f8c6b5-x2k4q";
            continue;
        }
        const auto ref = variable["valueFrom"]["secretKeyRef"];
        CHECK(ref["name"].as<std::string>() == secret["metadata"]["name"].as<std::string>());
        REQUIRE(secret["stringData"][ref["key"].as<std::string>()]);
        env[variable["name"].as<std::string>()] = secret["stringData"][ref["key"].as<std::string>()].as<std::string>();
    }
    const auto validated = run_command({daemon_binary(), "validate", "-c", dir.write("invariantd.yaml", config)}, {}, env);
    INFO(validated.out << validated.err);
    CHECK(validated.exit_code == 0);
    CHECK(validated.out.find("configuration OK") != std::string::npos);
    // Cluster mode, the pod name as the member.
    CHECK(validated.out.find("cluster member invariantd-7d9f8c6b5-x2k4q  coordination database coordination") !=
          std::string::npos);
    // The schema Job runs `cluster init` on the same ConfigMap with the same Secret values,
    // and `--print` works from exactly what it mounts.
    const auto job = only(documents, "Job");
    const auto job_pod = job["spec"]["template"]["spec"];
    const auto job_container = job_pod["containers"][0];
    CHECK(job_container["args"][0].as<std::string>() == "cluster");
    CHECK(job_container["args"][1].as<std::string>() == "init");
    CHECK(job_container["image"].as<std::string>() == container["image"].as<std::string>());
    CHECK(job_pod["volumes"][0]["configMap"]["name"].as<std::string>() == config_map["metadata"]["name"].as<std::string>());
    std::set<std::string> job_env;
    for (const auto& variable : job_container["env"]) job_env.insert(variable["name"].as<std::string>());
    for (const auto& [name, value] : env) CHECK(job_env.contains(name));
    const auto printed = run_command({daemon_binary(), "cluster", "init", "-c", dir.path() / "invariantd.yaml", "--print"}, {}, env);
    CHECK(printed.exit_code == 0);
    CHECK(printed.out.find("CREATE TABLE IF NOT EXISTS \"invariantd\".members") != std::string::npos);
    // validate resolves every secret, and prints none of them.
    for (const auto& entry : secret["stringData"]) {
        INFO(entry.first.as<std::string>());
        CHECK(validated.out.find(entry.second.as<std::string>()) == std::string::npos);
        CHECK(validated.err.find(entry.second.as<std::string>()) == std::string::npos);
    }
}
