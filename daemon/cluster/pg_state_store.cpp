#include "daemon/cluster/pg_state_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace invariantd::cluster {

namespace {

/// Lists travel as one JSON array parameter, unpacked on the server with
/// jsonb_array_elements_text: one statement for any number of keys.
template <typename T>
std::string json_list(const std::vector<T>& values) {
    return nlohmann::json(values).dump();
}

std::string number(double value) {
    return fmt::format("{}", value);
}

std::string ledger_json(const state::stored_ledger& ledger) {
    nlohmann::json offenders = nlohmann::json::array();
    for (const auto& o : ledger.offenders) offenders.push_back({o.key, o.first_seen, o.is_new});
    nlohmann::json cleared = nlohmann::json::array();
    for (const auto& c : ledger.recently_cleared) cleared.push_back({c.key, c.first_seen, c.cleared_at});
    const nlohmann::json document{{"definition", ledger.definition},
                                  {"last_seen", ledger.last_seen},
                                  {"truncated", ledger.truncated},
                                  {"offenders", std::move(offenders)},
                                  {"recently_cleared", std::move(cleared)}};
    return document.dump();
}

}  // namespace

pg_state_store::pg_state_store(std::string dsn, std::string schema, std::string member, duration lease,
                               std::shared_ptr<const std::atomic<std::uint64_t>> epoch)
    : connection_(std::move(dsn), "invariantd/" + member,
                  std::max(std::chrono::milliseconds(5000),
                           std::chrono::duration_cast<std::chrono::milliseconds>(lease))),
      schema_(std::move(schema)),
      member_(std::move(member)),
      lease_ms_(std::to_string(lease.count())),
      epoch_(std::move(epoch)) {}

std::string pg_state_store::table(const char* name) const {
    return fmt::format("\"{}\".{}", schema_, name);
}

template <typename Body>
void pg_state_store::transaction(Body body) {
    connection_.exec("BEGIN");
    try {
        body();
        connection_.exec("COMMIT");
    } catch (...) {
        try {
            connection_.exec("ROLLBACK");
        } catch (const std::exception&) {
            connection_.disconnect();  // the server ends the transaction with the session
        }
        throw;
    }
}

void pg_state_store::require_membership(std::uint64_t epoch) {
    const auto rows = connection_.exec(
        fmt::format("SELECT 1 FROM {} WHERE name = $1 AND epoch = $2\n"
                    "  AND heartbeat > now() - $3::bigint * interval '1 millisecond' FOR SHARE",
                    table("members")),
        {member_, std::to_string(epoch), lease_ms_});
    if (rows.rows.empty())
        throw state::fenced_write(
            fmt::format("member '{}' does not hold its lease under epoch {}", member_, epoch));
}

std::vector<state::stored_alert> pg_state_store::load_alerts() {
    std::vector<state::stored_alert> out;
    const auto rows =
        connection_.exec(fmt::format("SELECT dedup_key, record_json, version FROM {}", table("alerts")));
    for (const auto& row : rows.rows)
        out.push_back({row[0].value_or(""), row[1].value_or(""), std::stoull(row[2].value_or("0"))});
    return out;
}

std::vector<state::stored_notification> pg_state_store::claim_notifications(double) {
    const auto epoch = epoch_->load();
    std::vector<state::stored_notification> out;
    if (epoch == 0) return out;
    const auto rows = connection_.exec(
        fmt::format(
            "WITH me AS (\n"
            "  SELECT 1 FROM {members} WHERE name = $1 AND epoch = $2\n"
            "    AND heartbeat > now() - $3::bigint * interval '1 millisecond'),\n"
            "orphan AS (\n"
            "  SELECT n.id FROM {notifications} n\n"
            "  WHERE n.delivered_at IS NULL AND EXISTS (SELECT 1 FROM me)\n"
            "    AND NOT EXISTS (SELECT 1 FROM {members} m WHERE m.name = n.claimed_by\n"
            "      AND m.epoch = n.claim_epoch AND m.heartbeat > now() - $3::bigint * interval '1 "
            "millisecond')\n"
            "  ORDER BY n.id LIMIT 1000 FOR UPDATE OF n SKIP LOCKED)\n"
            "UPDATE {notifications} n SET claimed_by = $1, claim_epoch = $2 FROM orphan WHERE n.id = "
            "orphan.id\n"
            "RETURNING n.id, n.receiver, n.destination, n.dedup_key, n.action, n.event_json, n.enqueued_at",
            fmt::arg("members", table("members")), fmt::arg("notifications", table("notifications"))),
        {member_, std::to_string(epoch), lease_ms_});
    for (const auto& row : rows.rows) {
        state::stored_notification n;
        n.id = std::stoll(row[0].value_or("0"));
        n.receiver = row[1].value_or("");
        n.destination = std::stoul(row[2].value_or("0"));
        n.dedup_key = row[3].value_or("");
        n.action = row[4].value_or("");
        n.event_json = row[5].value_or("");
        n.enqueued_at = std::stod(row[6].value_or("0"));
        n.claim_epoch = epoch;
        out.push_back(std::move(n));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

void pg_state_store::commit(const std::vector<state::stored_alert>& alerts,
                            std::vector<state::stored_notification>& notifications) {
    const auto epoch = epoch_->load();
    if (epoch == 0)
        throw state::fenced_write(fmt::format("member '{}' is not a cluster member now", member_));
    transaction([&] {
        require_membership(epoch);
        for (const auto& alert : alerts) {
            std::string instance;
            try {
                instance = nlohmann::json::parse(alert.record_json).value("check", "");
            } catch (const std::exception&) {
            }
            const auto written = connection_.exec(
                fmt::format("INSERT INTO {t} AS a (dedup_key, instance, record_json, version, written_by, "
                            "written_epoch)\n"
                            "VALUES ($1, $2, $3, $4, $5, $6)\n"
                            "ON CONFLICT (dedup_key) DO UPDATE SET instance = EXCLUDED.instance,\n"
                            "    record_json = EXCLUDED.record_json, version = EXCLUDED.version,\n"
                            "    written_by = EXCLUDED.written_by, written_epoch = EXCLUDED.written_epoch, "
                            "updated_at = now()\n"
                            "  WHERE a.version < EXCLUDED.version",
                            fmt::arg("t", table("alerts"))),
                {alert.dedup_key, instance, alert.record_json, std::to_string(alert.version), member_,
                 std::to_string(epoch)});
            if (written.affected == 0)
                throw state::version_conflict(
                    fmt::format("alert {} has a version at or past {} in the coordination database: another "
                                "member changed it",
                                alert.dedup_key, alert.version));
        }
        for (auto& n : notifications) {
            const auto rows = connection_.exec(
                fmt::format(
                    "INSERT INTO {} (receiver, destination, dedup_key, action, event_json, enqueued_at,\n"
                    "    claimed_by, claim_epoch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    table("notifications")),
                {n.receiver, std::to_string(n.destination), n.dedup_key, n.action, n.event_json,
                 number(n.enqueued_at), member_, std::to_string(epoch)});
            n.id = std::stoll(rows.at(0, 0));
            n.claim_epoch = epoch;
        }
    });
}

void pg_state_store::remove_notifications(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return;
    connection_.exec(fmt::format("UPDATE {} SET delivered_at = now()\n"
                                 "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)",
                                 table("notifications")),
                     {json_list(ids)});
}

void pg_state_store::forget_alerts(const std::vector<std::string>& dedup_keys) {
    if (dedup_keys.empty()) return;
    connection_.exec(
        fmt::format("DELETE FROM {} WHERE dedup_key IN (SELECT jsonb_array_elements_text($1::jsonb))\n"
                    "  AND written_by = $2",
                    table("alerts")),
        {json_list(dedup_keys), member_});
}

std::vector<state::stored_ledger> pg_state_store::load_ledgers() {
    std::vector<state::stored_ledger> out;
    const auto rows = connection_.exec(fmt::format("SELECT instance, document FROM {}", table("ledgers")));
    for (const auto& row : rows.rows) {
        try {
            const auto document = nlohmann::json::parse(row[1].value_or("{}"));
            state::stored_ledger ledger;
            ledger.instance = row[0].value_or("");
            ledger.definition = document.value("definition", "");
            ledger.last_seen = document.value("last_seen", 0.0);
            ledger.truncated = document.value("truncated", false);
            for (const auto& o : document.value("offenders", nlohmann::json::array()))
                ledger.offenders.push_back(
                    {o.at(0).get<std::string>(), o.at(1).get<double>(), o.at(2).get<bool>()});
            for (const auto& c : document.value("recently_cleared", nlohmann::json::array()))
                ledger.recently_cleared.push_back(
                    {c.at(0).get<std::string>(), c.at(1).get<double>(), c.at(2).get<double>()});
            out.push_back(std::move(ledger));
        } catch (const std::exception&) {
            // An unreadable ledger starts afresh at the check's next run, as in the SQLite store.
        }
    }
    return out;
}

void pg_state_store::write_ledger(const state::stored_ledger& ledger) {
    connection_.exec(fmt::format("INSERT INTO {} (instance, document) VALUES ($1, $2)\n"
                                 "ON CONFLICT (instance) DO UPDATE SET document = EXCLUDED.document",
                                 table("ledgers")),
                     {ledger.instance, ledger_json(ledger)});
}

void pg_state_store::forget_ledgers(const std::vector<std::string>& instances) {
    if (instances.empty()) return;
    connection_.exec(
        fmt::format("DELETE FROM {} WHERE instance IN (SELECT jsonb_array_elements_text($1::jsonb))",
                    table("ledgers")),
        {json_list(instances)});
}

std::vector<std::string> pg_state_store::load_silences() {
    std::vector<std::string> out;
    for (const auto& row :
         connection_.exec(fmt::format("SELECT document FROM {} ORDER BY id", table("silences"))).rows)
        out.push_back(row[0].value_or(""));
    return out;
}

void pg_state_store::write_silence(const std::string& id, const std::string& document) {
    connection_.exec(
        fmt::format("INSERT INTO {} (id, document) VALUES ($1, $2)\n"
                    "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document, updated_at = now()",
                    table("silences")),
        {id, document});
}

void pg_state_store::forget_silences(const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    connection_.exec(fmt::format("DELETE FROM {} WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))",
                                 table("silences")),
                     {json_list(ids)});
}

std::vector<state::stored_history_point> pg_state_store::load_history(std::size_t per_instance) {
    std::vector<state::stored_history_point> out;
    const auto rows = connection_.exec(
        fmt::format(
            "SELECT instance, time, value, outcome FROM (\n"
            "  SELECT *, row_number() OVER (PARTITION BY instance ORDER BY time DESC) AS newest FROM {}) h\n"
            "WHERE newest <= $1 ORDER BY instance, time",
            table("history")),
        {std::to_string(per_instance)});
    for (const auto& row : rows.rows) {
        state::stored_history_point point;
        point.instance = row[0].value_or("");
        point.time = std::stod(row[1].value_or("0"));
        if (row[2]) point.value = std::stod(*row[2]);
        point.outcome = row[3].value_or("");
        out.push_back(std::move(point));
    }
    return out;
}

void pg_state_store::append_history(const state::stored_history_point& point, std::size_t keep) {
    std::optional<std::string> value;
    if (point.value) value = number(*point.value);
    // One statement: the insert and the trim of what falls beyond the newest `keep`.
    connection_.exec(
        fmt::format(
            "WITH added AS (INSERT INTO {t} (instance, time, value, outcome) VALUES ($1, $2, $3, $4))\n"
            "DELETE FROM {t} WHERE instance = $1 AND time < (\n"
            "  SELECT time FROM {t} WHERE instance = $1 ORDER BY time DESC OFFSET $5 - 1 LIMIT 1)",
            fmt::arg("t", table("history"))),
        {point.instance, number(point.time), value, point.outcome, std::to_string(keep)});
}

void pg_state_store::forget_history(const std::vector<std::string>& instances) {
    if (instances.empty()) return;
    connection_.exec(
        fmt::format("DELETE FROM {} WHERE instance IN (SELECT jsonb_array_elements_text($1::jsonb))",
                    table("history")),
        {json_list(instances)});
}

void pg_state_store::record_run(const state::stored_history_point& point, std::size_t keep,
                                const std::string& document, const state::stored_ledger* ledger) {
    std::optional<std::string> ledger_document;
    if (ledger != nullptr) ledger_document = ledger_json(*ledger);
    std::optional<std::string> value;
    if (point.value) value = number(*point.value);
    // One statement: the ledger (when given) and the result upserted, the history point
    // added, what falls beyond the newest `keep` points trimmed.
    connection_.exec(
        fmt::format(
            "WITH ledger AS (\n"
            "  INSERT INTO {l} (instance, document) SELECT $1, $8 WHERE $8::text IS NOT NULL\n"
            "  ON CONFLICT (instance) DO UPDATE SET document = EXCLUDED.document),\n"
            "result AS (\n"
            "  INSERT INTO {r} (instance, owner, document) VALUES ($1, $6, $7)\n"
            "  ON CONFLICT (instance) DO UPDATE SET owner = EXCLUDED.owner, document = EXCLUDED.document,\n"
            "      updated_at = now()),\n"
            "added AS (INSERT INTO {h} (instance, time, value, outcome) VALUES ($1, $2, $3, $4))\n"
            "DELETE FROM {h} WHERE instance = $1 AND time < (\n"
            "  SELECT time FROM {h} WHERE instance = $1 ORDER BY time DESC OFFSET $5 - 1 LIMIT 1)",
            fmt::arg("r", table("results")), fmt::arg("h", table("history")), fmt::arg("l", table("ledgers"))),
        {point.instance, number(point.time), value, point.outcome, std::to_string(keep), member_, document,
         ledger_document});
}

std::vector<state::stored_result> pg_state_store::load_results(const std::string& after) {
    // Only what changed since the last read: every member reads this every lease/3.
    std::vector<state::stored_result> out;
    const auto rows = connection_.exec(
        fmt::format("SELECT instance, document, updated_at::text FROM {}\n"
                    "WHERE $1::text = '' OR updated_at > $1::text::timestamptz ORDER BY updated_at",
                    table("results")),
        {after});
    for (const auto& row : rows.rows)
        out.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or("")});
    return out;
}

std::size_t pg_state_store::import_missing(state::state_store& local) {
    std::size_t imported = 0;
    const auto epoch = epoch_->load();
    transaction([&] {
        for (const auto& alert : local.load_alerts()) {
            std::string instance;
            try {
                instance = nlohmann::json::parse(alert.record_json).value("check", "");
            } catch (const std::exception&) {
                continue;
            }
            const auto written = connection_.exec(
                fmt::format(
                    "INSERT INTO {} (dedup_key, instance, record_json, version, written_by, written_epoch)\n"
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING",
                    table("alerts")),
                {alert.dedup_key, instance, alert.record_json, std::to_string(alert.version), member_,
                 std::to_string(epoch)});
            imported += written.affected;
        }
        std::set<std::string> known;
        for (const auto& row :
             connection_.exec(fmt::format("SELECT instance FROM {}", table("ledgers"))).rows)
            known.insert(row[0].value_or(""));
        for (const auto& ledger : local.load_ledgers())
            if (!known.contains(ledger.instance)) write_ledger(ledger);
        for (const auto& document : local.load_silences()) {
            std::string id;
            try {
                id = nlohmann::json::parse(document).value("id", "");
            } catch (const std::exception&) {
                continue;
            }
            if (id.empty()) continue;
            connection_.exec(
                fmt::format("INSERT INTO {} (id, document) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                            table("silences")),
                {id, document});
        }
    });
    return imported;
}

}  // namespace invariantd::cluster
