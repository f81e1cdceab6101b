#pragma once
/// `invariantd cluster init -c FILE [--print]` (SPEC §12): creates the coordination schema in
/// the database named by `cluster.database` (idempotent; the only DDL invariantd runs), or
/// prints the script for a DBA to apply. Exit codes: 0; 2 the database is unreachable or the
/// script failed (message without secrets); 64 usage; 78 configuration error or no `cluster`.
#include <string>
#include <vector>

namespace invariantd {

int command_cluster(const std::vector<std::string>& args);

}  // namespace invariantd
