#pragma once
/// libpq is loaded when the first PostgreSQL connection is made, not when the daemon starts
/// (README "Memory"): with its dependencies (GnuTLS, Kerberos, LDAP, SASL, p11-kit, ...)
/// it costs ~3.4 MB of resident memory in a daemon that may only watch SQLite files. The
/// daemon is not linked against libpq; libpq_loader.cpp defines the PQ* functions it calls,
/// each forwarding to libpq.so.5 opened with dlopen on first use.
#include <string>

namespace invariantd::db {

/// Opens libpq.so.5 once (later calls return at once; safe from any thread). Empty when it
/// is loaded, else why not ("libpq.so.5: cannot open shared object file ...").
const std::string& libpq_load_problem();

}  // namespace invariantd::db
