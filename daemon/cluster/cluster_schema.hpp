#pragma once
/// The coordination database's schema (SPEC §12): numbered migrations, each idempotent
/// DDL, applied in order by `invariantd cluster init` (the only DDL invariantd ever runs)
/// and checked at start-up. The version lives in `<schema>.schema_version`.
#include <string>

#include "daemon/common/asio.hpp"

namespace invariantd::db {
class pg_client;
}

namespace invariantd::cluster {

/// The schema version this binary reads and writes.
inline constexpr int schema_version = 1;

/// The whole script `cluster init` runs (and `--print` shows): one transaction, serialised
/// by an advisory lock, safe to run again.
std::string init_script(const std::string& schema);

/// Applies init_script; returns the version found before (0: none).
asio::awaitable<int> apply_init(db::pg_client& connection, const std::string& schema,
                                steady_clock::time_point deadline);

/// The version in the database; 0 when the schema or its version table does not exist.
asio::awaitable<int> installed_version(db::pg_client& connection, const std::string& schema,
                                       steady_clock::time_point deadline);

}  // namespace invariantd::cluster
