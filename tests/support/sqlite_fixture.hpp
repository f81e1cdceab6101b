#pragma once
#include <string>

namespace invariantd::test {

/// Runs SQL on a writable SQLite file (created if missing): how tests build the worlds the
/// daemon then reads read-only. Throws with SQLite's message on failure.
void sqlite_exec(const std::string& path, const std::string& sql);

/// The single integer a query returns, read with a separate writable connection.
long long sqlite_scalar(const std::string& path, const std::string& sql);

}  // namespace invariantd::test
