#pragma once
/// Blocking libpq helpers for building test fixtures in the PostgreSQL cluster that
/// tests/run.sh starts (its DSN is in INVARIANTD_TEST_PG_DSN).
#include <string>
#include <vector>

namespace invariantd::test {

/// The test cluster's DSN (INVARIANTD_TEST_PG_DSN, or ..._DSN2 for the second database).
/// Throws with a clear message when the tests run without tests/run.sh.
std::string pg_dsn(bool second_database = false);
/// The cluster's port and the test role's password (INVARIANTD_TEST_PG_PORT, ..._PASSWORD),
/// for tests that build their own DSNs or hand them to psql; same clear error when unset.
std::string pg_port();
std::string pg_password();
/// PgBouncer 1.18 in pool_mode = transaction in front of invariantd_test (tests/run.sh starts
/// it with the cluster): INVARIANTD_TEST_PGBOUNCER_DSN.
std::string pgbouncer_dsn();

/// A DSN for a new, empty database `name` (dropped first if it exists) in the test cluster:
/// for tests that count connections and must not see other tests running in parallel.
std::string pg_fresh_database(const std::string& name);

/// Runs SQL (several statements allowed) and throws with the server's message on failure.
void pg_exec(const std::string& dsn, const std::string& sql);

/// The first column of every row of a query, as text ("" for NULL).
std::vector<std::string> pg_column(const std::string& dsn, const std::string& sql);

/// The single value a query returns, as a number.
long long pg_scalar(const std::string& dsn, const std::string& sql);

/// Runs INVARIANTD_TEST_PG_CTL with `action` (stop, start): the outage tests' server switch.
void pg_ctl(const std::string& action);

}  // namespace invariantd::test
