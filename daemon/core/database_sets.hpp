#pragma once
/// Database sets (SPEC §11, README "Database sets"): one check over many databases of one
/// PostgreSQL server. The set's `discover` statement names the members; each member gets a
/// driver of its own that shares the set's connection slots.
#include <memory>
#include <string>
#include <vector>

#include "daemon/config/config.hpp"
#include "daemon/db/connection_pool.hpp"
#include "daemon/db/postgres_database.hpp"
#include "daemon/db/database.hpp"

namespace invariantd {

struct discovered_members {
    std::vector<std::string> members;   ///< in the statement's order, each once, each an existing database
    std::vector<std::string> problems;  ///< rows left out and why (secret-free), for /health and the log
};

/// Runs the set's `discover` statement (read-only, like every statement) on `database` — the
/// set's own connection, outside its max_connections — and checks each row: text, not NULL,
/// not a duplicate, a database that exists on the server (one set-based statement). Throws
/// db::error when the statement itself cannot run.
asio::awaitable<discovered_members> discover_members(db::database& database,
                                                     const config::database_config& set);

/// What the members of one set share: the connection slots (the set's max_connections) and
/// the worker threads for libpq's blocking calls (as many as slots, at most 4: no more
/// connections than slots are opened at once) — not a thread per member.
struct member_resources {
    std::shared_ptr<db::set_slots> slots;
    std::shared_ptr<db::pg_blocking_pool> blocking;
};
member_resources make_member_resources(asio::any_io_executor loop, const config::database_config& set);

/// The driver of one member: the set's DSN with the member's database name, the set's slots
/// and threads.
std::shared_ptr<db::database> make_member_database(asio::any_io_executor loop,
                                                   const config::database_config& set,
                                                   const std::string& member, const member_resources& shared,
                                                   const std::string& application_name = "invariantd");

/// A PostgreSQL text[] literal of `items` ('{"a","b"}'), for binding a list as one parameter.
std::string postgres_text_array(const std::vector<std::string>& items);

}  // namespace invariantd
