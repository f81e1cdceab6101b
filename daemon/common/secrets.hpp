#pragma once
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace invariantd {

/// The set of secret strings the process knows (expanded ${VAR} values of secret-bearing
/// configuration keys, DSN passwords, tokens). Every log line and every error message that
/// may carry text from a driver passes through redact() before it leaves the process.
///
/// Thread-safe: the event loop replaces the set on reload while worker threads may log.
class secret_registry {
public:
    /// The process-wide registry used by the logger.
    static secret_registry& global();

    /// Replaces the known secrets (empty strings and very short values are ignored: masking
    /// a one-letter "secret" everywhere would make logs unreadable without protecting much).
    void replace(std::vector<std::string> secrets);

    /// Adds secrets to the current set (used at start-up before the first replace()).
    void add(const std::vector<std::string>& secrets);

    /// Returns `text` with every known secret replaced by "<redacted>".
    std::string redact(std::string_view text) const;

private:
    mutable std::mutex mutex_;
    std::vector<std::string> secrets_;
};

}  // namespace invariantd
