#include "daemon/core/explain_cli.hpp"

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <memory>

#include "checks/dialect.hpp"
#include "checks/registry.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/core/database_factory.hpp"
#include "daemon/db/query_plan.hpp"

namespace invariantd {
namespace {

constexpr double large_table_rows = 100000;

struct explained_statement {
    std::string sql;
    std::optional<db::query_plan> plan;
};

/// Asks the planner about every statement before passing it through, and keeps both.
class explaining_session final : public db::session {
public:
    explaining_session(db::session& inner, std::vector<explained_statement>& statements)
        : inner_(inner), statements_(statements) {}
    asio::awaitable<db::rowset> query(std::string sql, std::vector<db::value> params,
                                      std::size_t max_rows) override {
        auto explained = co_await inner_.plan(sql, params);
        std::optional<db::query_plan> plan;
        if (explained) plan = db::parse_query_plan(*explained);
        statements_.push_back({secret_registry::global().redact(sql), std::move(plan)});
        auto rows = co_await inner_.query(std::move(sql), std::move(params), max_rows);
        co_return rows;
    }
    void last_query_next() override { inner_.last_query_next(); }

private:
    db::session& inner_;
    std::vector<explained_statement>& statements_;
};

struct check_report {
    std::vector<explained_statement> statements;
    std::map<std::string, double> table_rows;  ///< estimated rows of each sequentially scanned table
    std::string error;                         ///< secret-free; empty when the check ran
};

asio::awaitable<check_report> explain_check(const config::check_config& check, db::database& database) {
    check_report report;
    try {
        const auto deadline = steady_clock::now() + check.timeout;
        auto session = co_await database.open_session(deadline);
        explaining_session explaining(*session, report.statements);
        const auto* module = checks::find_module(check.module);
        const checks::check_context context{checks::module_args(check.params), explaining,
                                            checks::dialect_of(database.driver()), check.max_samples,
                                            check.max_tracked};
        co_await module->run(context);
        for (const auto& statement : report.statements) {
            if (!statement.plan) continue;
            for (const auto& table : statement.plan->sequential_scans) {
                if (report.table_rows.count(table) != 0) continue;
                // Named, not temporaries in the co_await expression (g++ 12, daemon/README.md).
                std::string size_sql =
                    "SELECT COALESCE(MAX(reltuples), 0)::float8 FROM pg_class WHERE relname = $1 AND relkind "
                    "IN "
                    "('r', 'p', 'm')";
                std::vector<db::value> size_params{table};
                const auto rows = co_await session->query(std::move(size_sql), std::move(size_params), 1);
                report.table_rows[table] = rows.rows.empty() ? 0 : db::to_number(rows.rows[0][0]).value_or(0);
            }
        }
    } catch (const std::exception& e) {
        report.error = secret_registry::global().redact(e.what());
    }
    co_return report;
}

void print_report(const config::check_config& check, const config::database_config& database,
                  const check_report& report) {
    std::cout << fmt::format("{} ({} on {}, {})\n", check.name, check.module, database.name,
                             db::to_string(database.driver));
    if (database.driver == db::driver_kind::sqlite)
        std::cout << "  SQLite has no planner estimates; the statements as sent:\n";
    int number = 0;
    for (const auto& statement : report.statements) {
        ++number;
        if (statement.plan)
            std::cout << fmt::format("  {}. estimated cost {:.2f}, rows {:.0f}\n", number,
                                     statement.plan->total_cost, statement.plan->rows);
        else
            std::cout << fmt::format("  {}.\n", number);
        std::string text = statement.sql;
        for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; at += 6)
            text.replace(at, 1, "\n     ");
        std::cout << "     " << text << '\n';
        if (!statement.plan) continue;
        for (const auto& table : statement.plan->sequential_scans) {
            const auto rows = report.table_rows.count(table) != 0 ? report.table_rows.at(table) : 0;
            if (rows <= large_table_rows) continue;
            const auto advice = checks::index_advice(check.module);
            std::cout << fmt::format(
                "     sequential scan on {} (~{:.0f} rows){}\n", table, rows,
                advice.empty() ? std::string() : fmt::format(" — recommended index: {}", advice));
        }
    }
    if (!report.error.empty()) std::cout << "  could not explain: " << report.error << '\n';
}

}  // namespace

int command_explain(const config::daemon_config& config, const std::vector<const config::check_config*>& selected) {
    asio::io_context loop;
    std::map<std::string, std::shared_ptr<db::database>> databases;
    for (const auto& db : config.databases) databases[db.name] = make_database(loop.get_executor(), db);
    std::vector<check_report> reports(selected.size());
    // One check after another: explain is for a person reading, not for speed, and it keeps
    // the load it puts on a database to one statement at a time.
    auto all = [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < selected.size(); ++i)
            reports[i] = co_await explain_check(*selected[i], *databases.at(selected[i]->database));
    };
    asio::co_spawn(loop, std::move(all), log_escaped_exception{"explain"});
    loop.run();
    for (auto& [name, database] : databases) database->close();
    databases.clear();
    loop.restart();
    loop.run();  // the sessions' hand-backs

    bool failed = false;
    for (std::size_t i = 0; i < selected.size(); ++i) {
        const auto& check = *selected[i];
        const auto* database = config.find_database(check.database);
        print_report(check, *database, reports[i]);
        failed = failed || !reports[i].error.empty();
    }
    return failed ? 2 : 0;
}

}  // namespace invariantd
