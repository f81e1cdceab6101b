#include "daemon/cluster/cluster_schema.hpp"

#include <fmt/format.h>

#include "daemon/db/pg_client.hpp"

namespace invariantd::cluster {

namespace {

/// Migration N brings the schema from version N-1 to N. Append only; never edit one that
/// has shipped. `{s}` is the quoted schema name.
constexpr const char* migrations[] = {
    // 1: members, epochs, and the shared state that replaces state_dir.
    R"(CREATE SEQUENCE IF NOT EXISTS {s}.epochs;
CREATE TABLE IF NOT EXISTS {s}.members (
    name text PRIMARY KEY,
    epoch bigint NOT NULL,
    started_at timestamptz NOT NULL,
    heartbeat timestamptz NOT NULL,
    version text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.alerts (
    dedup_key text PRIMARY KEY,
    instance text NOT NULL,
    record_json text NOT NULL,
    version bigint NOT NULL,
    written_by text NOT NULL,
    written_epoch bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS alerts_instance ON {s}.alerts (instance);
CREATE TABLE IF NOT EXISTS {s}.notifications (
    id bigserial PRIMARY KEY,
    receiver text NOT NULL,
    destination integer NOT NULL,
    dedup_key text NOT NULL,
    action text NOT NULL,
    event_json text NOT NULL,
    enqueued_at double precision NOT NULL,
    claimed_by text,
    claim_epoch bigint NOT NULL DEFAULT 0,
    delivered_at timestamptz);
CREATE INDEX IF NOT EXISTS notifications_pending ON {s}.notifications (id) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS {s}.ledgers (
    instance text PRIMARY KEY,
    document text NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.silences (
    id text PRIMARY KEY,
    document text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS {s}.results (
    instance text PRIMARY KEY,
    owner text NOT NULL,
    document text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS {s}.history (
    instance text NOT NULL,
    time double precision NOT NULL,
    value double precision,
    outcome text NOT NULL);
CREATE INDEX IF NOT EXISTS history_instance_time ON {s}.history (instance, time);
)",
};

std::string quoted(const std::string& schema) {
    return "\"" + schema + "\"";
}

}  // namespace

std::string init_script(const std::string& schema) {
    const auto s = quoted(schema);
    std::string script = fmt::format(
        "-- invariantd cluster schema, version {v} (idempotent; safe to run again)\n"
        "BEGIN;\n"
        "SELECT pg_advisory_xact_lock(hashtext('invariantd cluster init ' || {lit}));\n"
        "CREATE SCHEMA IF NOT EXISTS {s};\n"
        "CREATE TABLE IF NOT EXISTS {s}.schema_version (\n"
        "    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),\n"
        "    version integer NOT NULL,\n"
        "    applied_at timestamptz NOT NULL DEFAULT now());\n",
        fmt::arg("v", schema_version), fmt::arg("s", s), fmt::arg("lit", "'" + schema + "'"));
    int number = 1;
    for (const char* migration : migrations) {
        script += fmt::format("-- migration {}\n", number++);
        script += fmt::format(fmt::runtime(migration), fmt::arg("s", s));
    }
    script += fmt::format(
        "INSERT INTO {s}.schema_version (version) VALUES ({v})\n"
        "    ON CONFLICT (singleton) DO UPDATE SET version = GREATEST({s}.schema_version.version, "
        "EXCLUDED.version),\n"
        "    applied_at = now();\n"
        "COMMIT;\n",
        fmt::arg("s", s), fmt::arg("v", schema_version));
    return script;
}

asio::awaitable<int> installed_version(db::pg_client& connection, const std::string& schema,
                                       steady_clock::time_point deadline) {
    // Named arguments: g++ 12 miscompiles literals and braced lists inside a co_await.
    std::string exists_sql = "SELECT to_regclass($1) IS NOT NULL";
    std::vector<db::value> table{quoted(schema) + ".schema_version"};
    const auto exists = co_await connection.exec(std::move(exists_sql), std::move(table), deadline);
    if (exists.rows.empty() || db::text_of(exists.rows[0][0]) != "true") co_return 0;
    auto version_sql = fmt::format("SELECT version FROM {}.schema_version", quoted(schema));
    std::vector<db::value> none;
    const auto rows = co_await connection.exec(std::move(version_sql), std::move(none), deadline);
    if (rows.rows.empty()) co_return 0;
    co_return static_cast<int>(db::integer_of(rows.rows[0][0]));
}

asio::awaitable<int> apply_init(db::pg_client& connection, const std::string& schema,
                                steady_clock::time_point deadline) {
    const int before = co_await installed_version(connection, schema, deadline);
    if (before > schema_version)
        throw std::runtime_error(
            fmt::format("the schema '{}' is at version {}, newer than this binary's {}; upgrade invariantd",
                        schema, before, schema_version));
    auto script = init_script(schema);
    co_await connection.exec_script(std::move(script), deadline);
    co_return before;
}

}  // namespace invariantd::cluster
