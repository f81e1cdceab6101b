#pragma once
/// Opening a SQLite file in `state_dir`: versioned schema, migrations, and recovery of a
/// damaged file (README.md "State directory").
///
/// Every state file carries its schema version in `PRAGMA user_version`. Opening applies the
/// migrations from the file's version up to the current one in one transaction; a file
/// written by a newer release is refused (never downgraded). A file that is not a database
/// or is corrupt is renamed `<file>.corrupt-<unix seconds>` (its `-wal`/`-shm` renamed to
/// `<file>.corrupt-<unix seconds>-wal`/`-shm`, so the three still open together for
/// forensics) and replaced by an empty one: damaged state never stops monitoring. A file or
/// directory that cannot be created or written is an error naming the path.
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace invariantd::state {

/// The state directory or a file in it cannot be used (not writable, newer schema).
struct state_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// One schema step: brings a file from version `index` to `index + 1`.
using migration = std::function<void(sqlite3*)>;

struct opened_state_file {
    sqlite3* db = nullptr;
    bool recovered = false;    ///< the file was damaged and replaced by an empty one
    int from_version = 0;      ///< the version found (0: new file or written before versions)
    std::string damage;        ///< recovered: what was wrong with it
    std::string set_aside_as;  ///< recovered: where the damaged file went
};

/// Opens (creating) `path` in WAL mode with synchronous=FULL and brings it to
/// `migrations.size()`. Throws state_error when it cannot be used.
opened_state_file open_state_file(const std::string& path, const std::vector<migration>& migrations);

/// Runs `sql`; throws state_error with the path and SQLite's message.
void exec(sqlite3* db, const std::string& path, const char* sql);

}  // namespace invariantd::state
