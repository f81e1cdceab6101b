#include "daemon/state/state_file.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace invariantd::state {

namespace {

/// A SQLite failure with its primary result code, so damage can be told from other failures.
struct sqlite_failure : std::runtime_error {
    sqlite_failure(int code_, const std::string& message) : std::runtime_error(message), code(code_) {}
    int code;
};

void run(sqlite3* db, const char* sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errmsg(db);
        sqlite3_free(message);
        throw sqlite_failure(sqlite3_extended_errcode(db) & 0xff, text);
    }
}

int user_version(sqlite3* db) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr) != SQLITE_OK)
        throw sqlite_failure(sqlite3_extended_errcode(db) & 0xff, sqlite3_errmsg(db));
    int version = 0;
    if (sqlite3_step(statement) == SQLITE_ROW) version = sqlite3_column_int(statement, 0);
    sqlite3_finalize(statement);
    return version;
}

/// `PRAGMA quick_check` answers "ok" for a sound file; anything else is damage.
void verify_intact(sqlite3* db) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &statement, nullptr) != SQLITE_OK)
        throw sqlite_failure(sqlite3_extended_errcode(db) & 0xff, sqlite3_errmsg(db));
    const int rc = sqlite3_step(statement);
    std::string verdict;
    if (rc == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        verdict = text ? text : "";
    }
    const int code =
        rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : (sqlite3_extended_errcode(db) & 0xff);
    const std::string message = code == SQLITE_OK ? verdict : sqlite3_errmsg(db);
    sqlite3_finalize(statement);
    if (code != SQLITE_OK) throw sqlite_failure(code, message);
    if (verdict != "ok") throw sqlite_failure(SQLITE_CORRUPT, "integrity check: " + verdict);
}

bool is_damage(int code) {
    return code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
}

/// A non-empty file that does not start with SQLite's magic string. Told before SQLite opens
/// it, because SQLite discards a -wal it cannot pair with the file, and the -wal belongs
/// with the evidence.
bool lacks_sqlite_header(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return false;
    char header[16] = {};
    file.read(header, sizeof(header));
    const auto got = file.gcount();
    if (got == 0) return false;  // empty: SQLite initialises it
    return got < static_cast<std::streamsize>(sizeof(header)) ||
           std::memcmp(header, "SQLite format 3", 16) != 0;
}

/// Opens, verifies and migrates; throws sqlite_failure (damage or not) or state_error.
opened_state_file open_once(const std::string& path, const std::vector<migration>& migrations) {
    opened_state_file file;
    const int rc = sqlite3_open_v2(
        path.c_str(), &file.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        const std::string message = file.db ? sqlite3_errmsg(file.db) : "out of memory";
        sqlite3_close(file.db);
        throw sqlite_failure(rc & 0xff, message);
    }
    try {
        sqlite3_busy_timeout(file.db, 5000);
        verify_intact(file.db);
        run(file.db, "PRAGMA journal_mode=WAL");
        // FULL: a change counts as stored only once it would survive a power cut.
        run(file.db, "PRAGMA synchronous=FULL");
        file.from_version = user_version(file.db);
        const int current = static_cast<int>(migrations.size());
        if (file.from_version > current)
            throw state_error(
                fmt::format("{} has schema version {}, newer than this release's {}: it was written by a "
                            "newer invariantd",
                            path, file.from_version, current));
        if (file.from_version < current) {
            run(file.db, "BEGIN IMMEDIATE");
            try {
                for (int step = file.from_version; step < current; ++step)
                    migrations[static_cast<std::size_t>(step)](file.db);
                run(file.db, fmt::format("PRAGMA user_version = {}", current).c_str());
                run(file.db, "COMMIT");
            } catch (...) {
                sqlite3_exec(file.db, "ROLLBACK", nullptr, nullptr, nullptr);
                throw;
            }
        }
    } catch (...) {
        sqlite3_close(file.db);
        throw;
    }
    return file;
}

std::string set_aside(const std::string& path, long long stamp) {
    const std::string target = fmt::format("{}.corrupt-{}", path, stamp);
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::filesystem::path from = path + suffix;
        std::error_code ec;
        if (!std::filesystem::exists(from, ec)) continue;
        std::filesystem::rename(from, target + suffix, ec);
        if (ec)
            throw state_error(
                fmt::format("cannot set aside the damaged state file {}: {}", from.string(), ec.message()));
    }
    return target;
}

}  // namespace

void exec(sqlite3* db, const std::string& path, const char* sql) {
    try {
        run(db, sql);
    } catch (const sqlite_failure& e) {
        throw state_error(fmt::format("{}: {}", path, e.what()));
    }
}

opened_state_file open_state_file(const std::string& path, const std::vector<migration>& migrations) {
    std::string damage;
    if (lacks_sqlite_header(path)) {
        damage = "file is not a database";
    } else {
        try {
            return open_once(path, migrations);
        } catch (const sqlite_failure& e) {
            if (!is_damage(e.code)) throw state_error(fmt::format("cannot use {}: {}", path, e.what()));
            damage = e.what();
        }
    }
    const auto stamp =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const auto target = set_aside(path, stamp);
    try {
        auto file = open_once(path, migrations);
        file.recovered = true;
        file.damage = damage;
        file.set_aside_as = target;
        return file;
    } catch (const sqlite_failure& again) {
        throw state_error(fmt::format("cannot use {}: {}", path, again.what()));
    }
}

}  // namespace invariantd::state
