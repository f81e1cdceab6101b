#include "daemon/alerting/outbox_store.hpp"

#include <sqlite3.h>

#include <stdexcept>

#include <fmt/format.h>

namespace invariantd {

namespace {

struct statement {
    sqlite3_stmt* handle = nullptr;
    statement(sqlite3* db, const char* sql) {
        if (sqlite3_prepare_v2(db, sql, -1, &handle, nullptr) != SQLITE_OK)
            throw std::runtime_error(fmt::format("outbox: {}", sqlite3_errmsg(db)));
    }
    ~statement() { sqlite3_finalize(handle); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    void text(int index, const std::string& value) {
        sqlite3_bind_text(handle, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    }
    std::string column_text(int index) {
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(handle, index));
        return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(handle, index))) : std::string();
    }
};

}  // namespace

outbox_store::outbox_store(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error(fmt::format("cannot open the outbox {}: {}", path, message));
    }
    sqlite3_busy_timeout(db_, 5000);
    try {
        exec("PRAGMA journal_mode=WAL");
        // FULL: a notification counts as queued only once it would survive a power cut.
        exec("PRAGMA synchronous=FULL");
        exec(R"(CREATE TABLE IF NOT EXISTS notifications (
                  id INTEGER PRIMARY KEY AUTOINCREMENT,
                  receiver TEXT NOT NULL,
                  destination INTEGER NOT NULL,
                  dedup_key TEXT NOT NULL,
                  action TEXT NOT NULL,
                  event TEXT NOT NULL,
                  enqueued_at REAL NOT NULL))");
        exec(R"(CREATE TABLE IF NOT EXISTS alerts (
                  dedup_key TEXT PRIMARY KEY,
                  record TEXT NOT NULL))");
    } catch (const std::exception& e) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw std::runtime_error(fmt::format("cannot use the outbox {}: {}", path, e.what()));
    }
}

outbox_store::~outbox_store() { sqlite3_close(db_); }

void outbox_store::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : "unknown error";
        sqlite3_free(message);
        throw std::runtime_error(fmt::format("outbox {}: {}", path_, text));
    }
}

std::vector<stored_notification> outbox_store::load_notifications() {
    std::vector<stored_notification> rows;
    statement query(db_,
                    "SELECT id, receiver, destination, dedup_key, action, event, enqueued_at FROM notifications ORDER BY id");
    while (sqlite3_step(query.handle) == SQLITE_ROW) {
        stored_notification row;
        row.id = sqlite3_column_int64(query.handle, 0);
        row.receiver = query.column_text(1);
        row.destination = static_cast<std::size_t>(sqlite3_column_int64(query.handle, 2));
        row.dedup_key = query.column_text(3);
        row.action = query.column_text(4);
        row.event_json = query.column_text(5);
        row.enqueued_at = sqlite3_column_double(query.handle, 6);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<stored_alert> outbox_store::load_alerts() {
    std::vector<stored_alert> rows;
    statement query(db_, "SELECT dedup_key, record FROM alerts ORDER BY dedup_key");
    while (sqlite3_step(query.handle) == SQLITE_ROW) rows.push_back({query.column_text(0), query.column_text(1)});
    return rows;
}

void outbox_store::commit(const std::vector<stored_alert>& alerts, std::vector<stored_notification>& notifications) {
    exec("BEGIN IMMEDIATE");
    try {
        statement upsert(db_,
                         "INSERT INTO alerts (dedup_key, record) VALUES (?1, ?2) "
                         "ON CONFLICT (dedup_key) DO UPDATE SET record = excluded.record");
        for (const auto& alert : alerts) {
            sqlite3_reset(upsert.handle);
            upsert.text(1, alert.dedup_key);
            upsert.text(2, alert.record_json);
            if (sqlite3_step(upsert.handle) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
        }
        statement insert(db_,
                         "INSERT INTO notifications (receiver, destination, dedup_key, action, event, enqueued_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        for (auto& row : notifications) {
            sqlite3_reset(insert.handle);
            insert.text(1, row.receiver);
            sqlite3_bind_int64(insert.handle, 2, static_cast<sqlite3_int64>(row.destination));
            insert.text(3, row.dedup_key);
            insert.text(4, row.action);
            insert.text(5, row.event_json);
            sqlite3_bind_double(insert.handle, 6, row.enqueued_at);
            if (sqlite3_step(insert.handle) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db_));
            row.id = sqlite3_last_insert_rowid(db_);
        }
        exec("COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void outbox_store::remove(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return;
    statement erase(db_, "DELETE FROM notifications WHERE id = ?1");
    exec("BEGIN IMMEDIATE");
    for (const auto id : ids) {
        sqlite3_reset(erase.handle);
        sqlite3_bind_int64(erase.handle, 1, id);
        sqlite3_step(erase.handle);
    }
    exec("COMMIT");
}

void outbox_store::forget_alerts(const std::vector<std::string>& dedup_keys) {
    if (dedup_keys.empty()) return;
    statement erase(db_, "DELETE FROM alerts WHERE dedup_key = ?1");
    exec("BEGIN IMMEDIATE");
    for (const auto& key : dedup_keys) {
        sqlite3_reset(erase.handle);
        erase.text(1, key);
        sqlite3_step(erase.handle);
    }
    exec("COMMIT");
}

}  // namespace invariantd
