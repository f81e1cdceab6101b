#pragma once
/// bcrypt through libxcrypt, for server.basic_auth (the hashes Prometheus exporters' web
/// configuration uses: `htpasswd -nbBC 10 user pass`, or `python3 -c 'import bcrypt…'`).
#include <string>
#include <string_view>

namespace invariantd {

/// True for a well-formed bcrypt hash ($2a$, $2b$ or $2y$, cost 04–31, 53 characters of salt and digest).
bool is_bcrypt_hash(std::string_view hash);

/// True when `password` hashes to `hash`. Blocking and slow by design (~75 ms at cost 10):
/// never call it on the event loop. The comparison takes the same time wherever it differs.
bool bcrypt_matches(const std::string& password, const std::string& hash);

/// A bcrypt hash of `password` at `cost` (tests and tooling; random salt from the system).
std::string bcrypt_hash(const std::string& password, unsigned cost = 10);

}  // namespace invariantd
