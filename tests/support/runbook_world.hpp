#pragma once
/// One runbook's world on one driver, for the module tests: a real SQLite file or a fresh
/// PostgreSQL database, setup SQL written for SQLite (translated where PostgreSQL differs),
/// the tests' own independent queries, and the YAML naming the database for a config.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/loop.hpp"
#include "tests/support/pg.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

namespace invariantd::test {

/// One world on one driver.
struct runbook_world {
    std::string driver;
    temp_dir dir;
    std::string sqlite_path;
    std::string dsn;

    runbook_world(std::string which, const std::string& name) : driver(std::move(which)) {
        if (driver == "sqlite")
            sqlite_path = (dir.path() / (name + ".db")).string();
        else
            dsn = pg_fresh_database("m_" + name);
    }

    /// Runs setup SQL written for SQLite, translated where PostgreSQL differs.
    void exec(std::string sql) {
        if (driver == "sqlite") {
            sqlite_exec(sqlite_path, sql);
            return;
        }
        sql = std::regex_replace(sql, std::regex("PRAGMA[^;]*;"), "");
        sql = std::regex_replace(sql, std::regex("INTEGER PRIMARY KEY"), "SERIAL PRIMARY KEY");
        sql = std::regex_replace(sql, std::regex("(schedule_datetime) TEXT"), "$1 TIMESTAMP");
        pg_exec(dsn, sql);
    }

    /// The first column of every row of `sql` (written for both drivers), as text.
    std::vector<std::string> column(const std::string& sql) const {
        if (driver == "postgres") return pg_column(dsn, sql);
        const auto out = run_command({"sqlite3", "-batch", sqlite_path, sql});
        REQUIRE(out.exit_code == 0);
        std::vector<std::string> lines;
        std::istringstream stream(out.out);
        for (std::string line; std::getline(stream, line);) lines.push_back(line);
        return lines;
    }

    /// `expression` as text in byte order, for ORDER BY in the tests' own queries.
    std::string by_text(const std::string& expression) const {
        return driver == "postgres" ? "CAST(" + expression + " AS text) COLLATE \"C\""
                                    : "CAST(" + expression + " AS TEXT)";
    }

    /// A timestamp `seconds` ago, as an SQL expression of this driver.
    std::string ago(int seconds) const {
        if (driver == "sqlite") return "datetime('now', '-" + std::to_string(seconds) + " seconds')";
        return "(now() - interval '" + std::to_string(seconds) + " seconds')";
    }

    std::string database_yaml() const {
        if (driver == "sqlite") return "{ driver: sqlite, path: " + nlohmann::json(sqlite_path).dump() + " }";
        return "{ driver: postgres, dsn: " + nlohmann::json(dsn).dump() + " }";
    }

    config::daemon_config config(const std::string& module, const std::string& params, int max_samples = 10,
                                 const std::string& extra = "") const {
        return config::load_config_text(
            "databases:\n  db: " + database_yaml() + "\nchecks:\n  - name: c\n    module: " + module +
                "\n    database: db\n    max_samples: " + std::to_string(max_samples) +
                "\n    params: " + params + "\n" + extra,
            "test.yaml", "/");
    }

    checks::check_result run(const std::string& module, const std::string& params = "{}",
                             int max_samples = 10, const std::string& extra = "") const {
        auto result = run_first_check(config(module, params, max_samples, extra));
        INFO(driver << " " << module << ": " << result.error);
        REQUIRE(result.status == checks::run_status::ok);
        return result;
    }
};

}  // namespace invariantd::test
