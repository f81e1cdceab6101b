#include "daemon/core/database_sets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "daemon/db/postgres_database.hpp"

namespace invariantd {

std::string postgres_text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

asio::awaitable<discovered_members> discover_members(db::database& database,
                                                     const config::database_config& set) {
    discovered_members found;
    const auto deadline = steady_clock::now() + set.connect_timeout + std::chrono::seconds(30);
    auto session = co_await database.open_session(deadline);
    std::string statement = set.discover;
    while (!statement.empty() &&
           (statement.back() == ';' || std::isspace(static_cast<unsigned char>(statement.back()))))
        statement.pop_back();
    const auto rows = co_await session->query(std::move(statement), {}, 100000);
    if (rows.truncated)
        found.problems.push_back(
            fmt::format("discover returned {} rows; the first 100000 are members", rows.row_count));
    std::set<std::string> seen;
    std::vector<std::string> candidates;
    std::size_t row_number = 0;
    for (const auto& row : rows.rows) {
        ++row_number;
        if (row.empty()) continue;
        const auto& cell = row.front();
        if (std::holds_alternative<std::nullptr_t>(cell)) {
            found.problems.push_back(fmt::format("row {}: the database name is NULL", row_number));
        } else if (!std::holds_alternative<std::string>(cell)) {
            found.problems.push_back(
                fmt::format("row {}: the first column must be text (a database name), got {}", row_number,
                            db::to_string(cell)));
        } else if (const auto& name = std::get<std::string>(cell); name.empty()) {
            found.problems.push_back(fmt::format("row {}: the database name is empty", row_number));
        } else if (!seen.insert(name).second) {
            found.problems.push_back(fmt::format("row {}: '{}' is listed twice", row_number, name));
        } else {
            candidates.push_back(name);
        }
    }
    if (candidates.empty()) co_return found;
    // One statement for all of them: which names are not databases on this server.
    std::string missing_sql =
        "SELECT n FROM unnest($1::text[]) AS n WHERE NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datname "
        "= n)";
    std::vector<db::value> params{postgres_text_array(candidates)};
    session->last_query_next();
    const auto missing =
        co_await session->query(std::move(missing_sql), std::move(params), candidates.size());
    std::set<std::string> absent;
    for (const auto& row : missing.rows) absent.insert(db::to_string(row.front()));
    for (const auto& name : candidates) {
        if (absent.contains(name))
            found.problems.push_back(fmt::format("'{}' is not a database on this server", name));
        else
            found.members.push_back(name);
    }
    co_return found;
}

member_resources make_member_resources(asio::any_io_executor loop, const config::database_config& set) {
    return {std::make_shared<db::set_slots>(loop, set.max_connections),
            std::make_shared<db::pg_blocking_pool>(std::clamp<std::size_t>(set.max_connections, 1, 4))};
}

std::shared_ptr<db::database> make_member_database(asio::any_io_executor loop,
                                                   const config::database_config& set,
                                                   const std::string& member, const member_resources& shared,
                                                   const std::string& application_name) {
    db::postgres_options options{set.name + "/" + member, set.dsn,          set.max_connections,
                                 set.connect_timeout,     set.max_lifetime, set.lock_timeout};
    options.database_name = member;
    options.shared_slots = shared.slots;
    options.shared_blocking = shared.blocking;
    options.application_name = application_name;
    return db::postgres_database::create(loop, std::move(options));
}

}  // namespace invariantd
