#include "daemon/state/sqlite_state_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <optional>

namespace invariantd::state {

namespace {

struct statement {
    sqlite3_stmt* handle = nullptr;
    sqlite3* db;
    statement(sqlite3* db_, const char* sql) : db(db_) {
        if (sqlite3_prepare_v2(db, sql, -1, &handle, nullptr) != SQLITE_OK)
            throw state_error(fmt::format("outbox: {}", sqlite3_errmsg(db)));
    }
    ~statement() { sqlite3_finalize(handle); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    void reset() { sqlite3_reset(handle); }
    void text(int index, const std::string& value) {
        sqlite3_bind_text(handle, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    }
    void integer(int index, std::int64_t value) { sqlite3_bind_int64(handle, index, value); }
    void real(int index, double value) { sqlite3_bind_double(handle, index, value); }
    void real_or_null(int index, std::optional<double> value) {
        if (value)
            real(index, *value);
        else
            sqlite3_bind_null(handle, index);
    }
    void bind(int index, const std::string& value) { text(index, value); }
    void bind(int index, std::int64_t value) { integer(index, value); }
    bool row() { return sqlite3_step(handle) == SQLITE_ROW; }
    void done() {
        if (sqlite3_step(handle) != SQLITE_DONE)
            throw state_error(fmt::format("outbox: {}", sqlite3_errmsg(db)));
    }
    std::string column_text(int index) {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(handle, index));
        return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(handle, index)))
                    : std::string();
    }
    std::int64_t column_integer(int index) { return sqlite3_column_int64(handle, index); }
    double column_real(int index) { return sqlite3_column_double(handle, index); }
    std::optional<double> column_real_or_null(int index) {
        if (sqlite3_column_type(handle, index) == SQLITE_NULL) return std::nullopt;
        return column_real(index);
    }
};

/// Runs `work` between BEGIN IMMEDIATE and COMMIT; an exception rolls back and propagates.
template <typename Work>
void in_transaction(sqlite3* db, const std::string& path, Work&& work) {
    exec(db, path, "BEGIN IMMEDIATE");
    try {
        work();
        exec(db, path, "COMMIT");
    } catch (...) {
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

/// Runs each of `statements` (one parameter, ?1) for every key, in one transaction.
template <typename Key>
void delete_each(sqlite3* db, const std::string& path, std::initializer_list<const char*> statements,
                 const std::vector<Key>& keys) {
    if (keys.empty()) return;
    in_transaction(db, path, [&] {
        for (const char* sql : statements) {
            statement erase(db, sql);
            for (const auto& key : keys) {
                erase.reset();
                erase.bind(1, key);
                erase.done();
            }
        }
    });
}

void plain(sqlite3* db, const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : "unknown error";
        sqlite3_free(message);
        throw state_error(text);
    }
}

/// Step 0 → 1: the layout of release 0.1.0 (which did not set user_version, so its files
/// are found at version 0 with the tables present: IF NOT EXISTS keeps them).
void create_v1(sqlite3* db) {
    plain(db, R"(CREATE TABLE IF NOT EXISTS notifications (
                   id INTEGER PRIMARY KEY AUTOINCREMENT,
                   receiver TEXT NOT NULL,
                   destination INTEGER NOT NULL,
                   dedup_key TEXT NOT NULL,
                   action TEXT NOT NULL,
                   event TEXT NOT NULL,
                   enqueued_at REAL NOT NULL))");
    plain(db, R"(CREATE TABLE IF NOT EXISTS alerts (
                   dedup_key TEXT PRIMARY KEY,
                   record TEXT NOT NULL))");
}

/// Step 1 → 2: versions for compare-and-set, claim leases, the writer epoch.
void add_versions_and_claims(sqlite3* db) {
    plain(db, "ALTER TABLE alerts ADD COLUMN version INTEGER NOT NULL DEFAULT 0");
    plain(db, "ALTER TABLE notifications ADD COLUMN claim_epoch INTEGER NOT NULL DEFAULT 0");
    plain(db, "ALTER TABLE notifications ADD COLUMN claim_until REAL NOT NULL DEFAULT 0");
    plain(db, "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    plain(db, "INSERT INTO meta (key, value) VALUES ('writer_epoch', 0)");
}

/// Step 2 → 3: silences (README "Silences"), one JSON document each.
void add_silences(sqlite3* db) {
    plain(db, "CREATE TABLE silences (id TEXT PRIMARY KEY, silence TEXT NOT NULL)");
}

void create_history_v1(sqlite3* db) {
    plain(db, R"(CREATE TABLE IF NOT EXISTS history (
                   instance TEXT NOT NULL, time REAL NOT NULL, value REAL, outcome TEXT NOT NULL))");
    plain(db, "CREATE INDEX IF NOT EXISTS history_instance_time ON history (instance, time)");
}

void create_ledger_v1(sqlite3* db) {
    plain(db, R"(CREATE TABLE IF NOT EXISTS ledgers (
                   instance TEXT PRIMARY KEY, definition TEXT NOT NULL, last_seen REAL NOT NULL,
                   truncated INTEGER NOT NULL))");
    plain(db, R"(CREATE TABLE IF NOT EXISTS ledger_offenders (
                   instance TEXT NOT NULL, position INTEGER NOT NULL, key TEXT NOT NULL,
                   first_seen REAL NOT NULL, is_new INTEGER NOT NULL, PRIMARY KEY (instance, position)))");
    plain(db, R"(CREATE TABLE IF NOT EXISTS ledger_cleared (
                   instance TEXT NOT NULL, position INTEGER NOT NULL, key TEXT NOT NULL,
                   first_seen REAL NOT NULL, cleared_at REAL NOT NULL, PRIMARY KEY (instance, position)))");
}

std::string sibling(const std::string& path, const char* name) {
    return (std::filesystem::path(path).parent_path() / name).string();
}

}  // namespace

sqlite_state_store::sqlite_state_store(std::string path)
    : path_(std::move(path)),
      opened_(open_state_file(path_, {create_v1, add_versions_and_claims, add_silences})),
      db_(opened_.db),
      ledger_path_(sibling(path_, "ledger.db")),
      history_path_(sibling(path_, "history.db")) {
    try {
        ledger_opened_ = open_state_file(ledger_path_, {create_ledger_v1});
        ledger_ = ledger_opened_.db;
    } catch (...) {
        sqlite3_close(db_);
        throw;
    }
    try {
        history_opened_ = open_state_file(history_path_, {create_history_v1});
        history_ = history_opened_.db;
        // One row per run of every check: a power cut may lose the last few points (WAL keeps
        // the file sound), which is not worth an fsync per run. Alerts and ledgers stay FULL.
        exec(history_, history_path_, "PRAGMA synchronous=NORMAL");
    } catch (...) {
        sqlite3_close(ledger_);
        sqlite3_close(db_);
        throw;
    }
    try {
        exec(db_, path_, "BEGIN IMMEDIATE");
        exec(db_, path_, "UPDATE meta SET value = value + 1 WHERE key = 'writer_epoch'");
        statement read(db_, "SELECT value FROM meta WHERE key = 'writer_epoch'");
        if (read.row()) epoch_ = static_cast<std::uint64_t>(read.column_integer(0));
        exec(db_, path_, "COMMIT");
    } catch (...) {
        sqlite3_close(history_);
        sqlite3_close(ledger_);
        sqlite3_close(db_);
        throw;
    }
}

sqlite_state_store::~sqlite_state_store() {
    sqlite3_close(history_);
    sqlite3_close(ledger_);
    sqlite3_close(db_);
}

std::vector<stored_ledger> sqlite_state_store::load_ledgers() {
    std::vector<stored_ledger> out;
    statement ledgers(ledger_,
                      "SELECT instance, definition, last_seen, truncated FROM ledgers ORDER BY instance");
    statement offenders(
        ledger_,
        "SELECT key, first_seen, is_new FROM ledger_offenders WHERE instance = ?1 ORDER BY position");
    statement cleared(
        ledger_,
        "SELECT key, first_seen, cleared_at FROM ledger_cleared WHERE instance = ?1 ORDER BY position");
    while (ledgers.row()) {
        stored_ledger ledger;
        ledger.instance = ledgers.column_text(0);
        ledger.definition = ledgers.column_text(1);
        ledger.last_seen = ledgers.column_real(2);
        ledger.truncated = ledgers.column_integer(3) != 0;
        offenders.reset();
        offenders.text(1, ledger.instance);
        while (offenders.row())
            ledger.offenders.push_back(
                {offenders.column_text(0), offenders.column_real(1), offenders.column_integer(2) != 0});
        cleared.reset();
        cleared.text(1, ledger.instance);
        while (cleared.row())
            ledger.recently_cleared.push_back(
                {cleared.column_text(0), cleared.column_real(1), cleared.column_real(2)});
        out.push_back(std::move(ledger));
    }
    return out;
}

void sqlite_state_store::write_ledger(const stored_ledger& ledger) {
    in_transaction(ledger_, ledger_path_, [&] {
        for (const char* sql : {"DELETE FROM ledger_offenders WHERE instance = ?1",
                                "DELETE FROM ledger_cleared WHERE instance = ?1"}) {
            statement erase(ledger_, sql);
            erase.text(1, ledger.instance);
            erase.done();
        }
        statement upsert(
            ledger_,
            "INSERT INTO ledgers (instance, definition, last_seen, truncated) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (instance) DO UPDATE SET definition = excluded.definition, "
            "last_seen = excluded.last_seen, truncated = excluded.truncated");
        upsert.text(1, ledger.instance);
        upsert.text(2, ledger.definition);
        upsert.real(3, ledger.last_seen);
        upsert.integer(4, ledger.truncated ? 1 : 0);
        upsert.done();
        statement offender(ledger_,
                           "INSERT INTO ledger_offenders (instance, position, key, first_seen, is_new) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)");
        std::int64_t position = 0;
        for (const auto& entry : ledger.offenders) {
            offender.reset();
            offender.text(1, ledger.instance);
            offender.integer(2, position++);
            offender.text(3, entry.key);
            offender.real(4, entry.first_seen);
            offender.integer(5, entry.is_new ? 1 : 0);
            offender.done();
        }
        statement cleared(ledger_,
                          "INSERT INTO ledger_cleared (instance, position, key, first_seen, cleared_at) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)");
        position = 0;
        for (const auto& entry : ledger.recently_cleared) {
            cleared.reset();
            cleared.text(1, ledger.instance);
            cleared.integer(2, position++);
            cleared.text(3, entry.key);
            cleared.real(4, entry.first_seen);
            cleared.real(5, entry.cleared_at);
            cleared.done();
        }
    });
}

void sqlite_state_store::forget_ledgers(const std::vector<std::string>& instances) {
    delete_each(
        ledger_, ledger_path_,
        {"DELETE FROM ledgers WHERE instance = ?1", "DELETE FROM ledger_offenders WHERE instance = ?1",
         "DELETE FROM ledger_cleared WHERE instance = ?1"},
        instances);
}

std::vector<stored_history_point> sqlite_state_store::load_history(std::size_t per_instance) {
    std::vector<stored_history_point> out;
    statement query(history_,
                    "SELECT instance, time, value, outcome FROM (SELECT instance, time, value, outcome, "
                    "ROW_NUMBER() OVER (PARTITION BY instance ORDER BY time DESC) AS n FROM history) "
                    "WHERE n <= ?1 ORDER BY instance, time");
    query.integer(1, static_cast<std::int64_t>(per_instance));
    while (query.row())
        out.push_back(
            {query.column_text(0), query.column_real(1), query.column_real_or_null(2), query.column_text(3)});
    return out;
}

void sqlite_state_store::append_history(const stored_history_point& point, std::size_t keep) {
    in_transaction(history_, history_path_, [&] {
        statement insert(history_,
                         "INSERT INTO history (instance, time, value, outcome) VALUES (?1, ?2, ?3, ?4)");
        insert.text(1, point.instance);
        insert.real(2, point.time);
        insert.real_or_null(3, point.value);
        insert.text(4, point.outcome);
        insert.done();
        // Bounded: only the newest `keep` results of the instance stay.
        statement trim(history_,
                       "DELETE FROM history WHERE instance = ?1 AND time < (SELECT time FROM history "
                       "WHERE instance = ?1 ORDER BY time DESC LIMIT 1 OFFSET ?2)");
        trim.text(1, point.instance);
        trim.integer(2, static_cast<std::int64_t>(keep) - 1);
        trim.done();
    });
}

void sqlite_state_store::forget_history(const std::vector<std::string>& instances) {
    delete_each(history_, history_path_, {"DELETE FROM history WHERE instance = ?1"}, instances);
}

std::vector<std::string> sqlite_state_store::load_silences() {
    std::vector<std::string> out;
    statement query(db_, "SELECT silence FROM silences ORDER BY id");
    while (query.row()) out.push_back(query.column_text(0));
    return out;
}

void sqlite_state_store::write_silence(const std::string& id, const std::string& document) {
    statement upsert(db_,
                     "INSERT INTO silences (id, silence) VALUES (?1, ?2) "
                     "ON CONFLICT (id) DO UPDATE SET silence = excluded.silence");
    upsert.text(1, id);
    upsert.text(2, document);
    upsert.done();
}

void sqlite_state_store::forget_silences(const std::vector<std::string>& ids) {
    delete_each(db_, path_, {"DELETE FROM silences WHERE id = ?1"}, ids);
}

std::vector<stored_alert> sqlite_state_store::load_alerts() {
    std::vector<stored_alert> rows;
    statement query(db_, "SELECT dedup_key, record, version FROM alerts ORDER BY dedup_key");
    while (query.row())
        rows.push_back({query.column_text(0), query.column_text(1),
                        static_cast<std::uint64_t>(query.column_integer(2))});
    return rows;
}

std::vector<stored_notification> sqlite_state_store::claim_notifications(double claim_until) {
    // One writer per file: it claims everything. (The shared store claims with FOR UPDATE
    // SKIP LOCKED and respects other writers' unexpired claims.)
    statement claim(db_, "UPDATE notifications SET claim_epoch = ?1, claim_until = ?2");
    claim.integer(1, static_cast<std::int64_t>(epoch_));
    claim.real(2, claim_until);
    claim.done();
    std::vector<stored_notification> rows;
    statement query(
        db_,
        "SELECT id, receiver, destination, dedup_key, action, event, enqueued_at, claim_epoch, claim_until "
        "FROM notifications ORDER BY id");
    while (query.row()) {
        stored_notification row;
        row.id = query.column_integer(0);
        row.receiver = query.column_text(1);
        row.destination = static_cast<std::size_t>(query.column_integer(2));
        row.dedup_key = query.column_text(3);
        row.action = query.column_text(4);
        row.event_json = query.column_text(5);
        row.enqueued_at = query.column_real(6);
        row.claim_epoch = static_cast<std::uint64_t>(query.column_integer(7));
        row.claim_until = query.column_real(8);
        rows.push_back(std::move(row));
    }
    return rows;
}

void sqlite_state_store::commit(const std::vector<stored_alert>& alerts,
                                std::vector<stored_notification>& notifications) {
    in_transaction(db_, path_, [&] {
        statement current(db_, "SELECT version FROM alerts WHERE dedup_key = ?1");
        statement upsert(
            db_,
            "INSERT INTO alerts (dedup_key, record, version) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (dedup_key) DO UPDATE SET record = excluded.record, version = excluded.version");
        for (const auto& alert : alerts) {
            current.reset();
            current.text(1, alert.dedup_key);
            if (current.row() && static_cast<std::uint64_t>(current.column_integer(0)) >= alert.version)
                throw version_conflict(fmt::format("alert {} is at version {} in {}, not older than {}",
                                                   alert.dedup_key, current.column_integer(0), path_,
                                                   alert.version));
            upsert.reset();
            upsert.text(1, alert.dedup_key);
            upsert.text(2, alert.record_json);
            upsert.integer(3, static_cast<std::int64_t>(alert.version));
            upsert.done();
        }
        statement insert(
            db_,
            "INSERT INTO notifications (receiver, destination, dedup_key, action, event, enqueued_at, "
            "claim_epoch, claim_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        for (auto& row : notifications) {
            row.claim_epoch = epoch_;
            insert.reset();
            insert.text(1, row.receiver);
            insert.integer(2, static_cast<std::int64_t>(row.destination));
            insert.text(3, row.dedup_key);
            insert.text(4, row.action);
            insert.text(5, row.event_json);
            insert.real(6, row.enqueued_at);
            insert.integer(7, static_cast<std::int64_t>(row.claim_epoch));
            insert.real(8, row.claim_until);
            insert.done();
            row.id = sqlite3_last_insert_rowid(db_);
        }
    });
}

void sqlite_state_store::remove_notifications(const std::vector<std::int64_t>& ids) {
    delete_each(db_, path_, {"DELETE FROM notifications WHERE id = ?1"}, ids);
}

void sqlite_state_store::forget_alerts(const std::vector<std::string>& dedup_keys) {
    delete_each(db_, path_, {"DELETE FROM alerts WHERE dedup_key = ?1"}, dedup_keys);
}

}  // namespace invariantd::state
