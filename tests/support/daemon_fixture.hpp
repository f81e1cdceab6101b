#pragma once
/// A temp directory with a small SQLite world (the POS sales table of runbook 004) and the
/// real daemon running on it, listening on a free loopback port.
#include <memory>
#include <string>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace invariantd::test {

struct daemon_fixture {
    temp_dir dir;
    std::string db_path;
    std::string config_path;
    std::unique_ptr<daemon_process> daemon;

    /// `extra_server` lines go under `server:`; `checks` is the YAML list under `checks:`.
    /// `setup_sql` runs on the world before the daemon starts.
    explicit daemon_fixture(const std::string& checks, const std::string& extra_server = "",
                            const std::map<std::string, std::string>& env = {},
                            const std::string& setup_sql = "") {
        db_path = (dir.path() / "pos.db").string();
        sqlite_exec(db_path, R"(
CREATE TABLE sales (id INTEGER PRIMARY KEY, server_id INTEGER, bar TEXT);
INSERT INTO sales (server_id, bar) VALUES (7, 'north'), (NULL, 'north'), (NULL, 'south'), (8, 'south');
)" + setup_sql);
        config_path = dir.write("invariantd.yaml", config_text(checks, extra_server));
        daemon = std::make_unique<daemon_process>(config_path, (dir.path() / "daemon.log").string(), env);
    }

    std::string config_text(const std::string& checks, const std::string& extra_server = "") const {
        return "server:\n  listen: \"127.0.0.1:0\"\n" + extra_server +
               "state_dir: state\nlog: { level: debug }\n" +
               "databases:\n  pos: { driver: sqlite, path: pos.db }\nchecks:\n" + checks;
    }

    std::uint16_t port() const { return daemon->port(); }
    std::string metrics() const { return http_get(port(), "/metrics").body; }
};

/// A check whose value is 2 (two sales without server_id) and which alerts when > 0.
inline const char* missing_server_check =
    "  - name: missing_server\n    module: sql\n    database: pos\n    interval: 1h\n"
    "    params: { query: \"SELECT id, bar FROM sales WHERE server_id IS NULL ORDER BY id\", group_column: "
    "bar }\n"
    "    alert: { when: \"> 0\" }\n";

}  // namespace invariantd::test
