#include "daemon/cluster/pg_state_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "daemon/state/sqlite_state_store.hpp"

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

pg_state_store::pg_state_store(asio::any_io_executor loop, std::string dsn, std::string schema, std::string member,
                               duration lease, std::shared_ptr<const std::atomic<std::uint64_t>> epoch)
    : timeout_(std::max(duration(5000), lease)),
      connection_(loop, db::pg_client_options{.name = "the coordination database",
                                              .dsn = std::move(dsn),
                                              .application_name = "invariantd/" + member,
                                              .connect_timeout = timeout_,
                                              .statement_timeout = timeout_}),
      schema_(std::move(schema)),
      member_(std::move(member)),
      lease_ms_(std::to_string(lease.count())),
      epoch_(std::move(epoch)) {}

std::string pg_state_store::table(const char* name) const {
    return fmt::format("\"{}\".{}", schema_, name);
}

steady_clock::time_point pg_state_store::deadline() const {
    return steady_clock::now() + timeout_;
}

asio::awaitable<db::rowset> pg_state_store::exec(std::string sql, std::vector<db::value> params) {
    co_return co_await connection_.exec(std::move(sql), std::move(params), deadline());
}

asio::awaitable<db::rowset> pg_state_store::exec(std::string sql) {
    std::vector<db::value> none;
    co_return co_await connection_.exec(std::move(sql), std::move(none), deadline());
}

asio::awaitable<void> pg_state_store::require_membership(std::uint64_t epoch) {
    auto sql = fmt::format("SELECT 1 FROM {} WHERE name = $1 AND epoch = $2\n"
                           "  AND heartbeat > now() - $3::bigint * interval '1 millisecond' FOR SHARE",
                           table("members"));
    std::vector<db::value> params{member_, std::to_string(epoch), lease_ms_};
    const auto rows = co_await exec(std::move(sql), std::move(params));
    if (rows.rows.empty())
        throw state::fenced_write(
            fmt::format("member '{}' does not hold its lease under epoch {}", member_, epoch));
}

asio::awaitable<void> pg_state_store::begin() {
    std::string sql = "BEGIN";
    co_await exec(std::move(sql));
}

asio::awaitable<void> pg_state_store::commit_transaction() {
    std::string sql = "COMMIT";
    co_await exec(std::move(sql));
}

asio::awaitable<void> pg_state_store::roll_back_on(std::exception_ptr failure) {
    if (!failure) co_return;
    co_await connection_.rollback();
    std::rethrow_exception(failure);
}

asio::awaitable<void> pg_state_store::delete_listed(const char* table_name, const char* column, std::string keys) {
    if (keys == "[]") co_return;
    auto sql = fmt::format("DELETE FROM {} WHERE {} IN (SELECT jsonb_array_elements_text($1::jsonb))",
                           table(table_name), column);
    std::vector<db::value> params{std::move(keys)};
    co_await exec(std::move(sql), std::move(params));
}

asio::awaitable<std::vector<state::stored_alert>> pg_state_store::load_alerts() {
    std::vector<state::stored_alert> out;
    auto sql = fmt::format("SELECT dedup_key, record_json, version FROM {}", table("alerts"));
    const auto rows = co_await exec(std::move(sql));
    for (const auto& row : rows.rows)
        out.push_back({db::text_of(row[0]), db::text_of(row[1]), static_cast<std::uint64_t>(db::integer_of(row[2]))});
    co_return out;
}

asio::awaitable<std::vector<state::stored_notification>> pg_state_store::claim_notifications(double) {
    const auto epoch = epoch_->load();
    std::vector<state::stored_notification> out;
    if (epoch == 0) co_return out;
    auto sql = fmt::format(
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
        fmt::arg("members", table("members")), fmt::arg("notifications", table("notifications")));
    std::vector<db::value> params{member_, std::to_string(epoch), lease_ms_};
    const auto rows = co_await exec(std::move(sql), std::move(params));
    for (const auto& row : rows.rows) {
        state::stored_notification n;
        n.id = db::integer_of(row[0]);
        n.receiver = db::text_of(row[1]);
        n.destination = static_cast<std::size_t>(db::integer_of(row[2]));
        n.dedup_key = db::text_of(row[3]);
        n.action = db::text_of(row[4]);
        n.event_json = db::text_of(row[5]);
        n.enqueued_at = db::real_of(row[6]);
        n.claim_epoch = epoch;
        out.push_back(std::move(n));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    co_return out;
}

asio::awaitable<std::vector<state::stored_notification>> pg_state_store::commit(
    std::vector<state::stored_alert> alerts, std::vector<state::stored_notification> notifications) {
    const auto epoch = epoch_->load();
    if (epoch == 0)
        throw state::fenced_write(fmt::format("member '{}' is not a cluster member now", member_));
    std::exception_ptr failure;
    try {
        co_await begin();
        co_await require_membership(epoch);
        for (const auto& alert : alerts) {
            std::string instance;
            try {
                instance = nlohmann::json::parse(alert.record_json).value("check", "");
            } catch (const std::exception&) {
            }
            auto sql = fmt::format(
                "INSERT INTO {t} AS a (dedup_key, instance, record_json, version, written_by, written_epoch)\n"
                "VALUES ($1, $2, $3, $4, $5, $6)\n"
                "ON CONFLICT (dedup_key) DO UPDATE SET instance = EXCLUDED.instance,\n"
                "    record_json = EXCLUDED.record_json, version = EXCLUDED.version,\n"
                "    written_by = EXCLUDED.written_by, written_epoch = EXCLUDED.written_epoch, updated_at = now()\n"
                "  WHERE a.version < EXCLUDED.version\n"
                "RETURNING 1",
                fmt::arg("t", table("alerts")));
            std::vector<db::value> params{alert.dedup_key, instance, alert.record_json, std::to_string(alert.version),
                                          member_, std::to_string(epoch)};
            const auto written = co_await exec(std::move(sql), std::move(params));
            if (written.rows.empty())
                throw state::version_conflict(
                    fmt::format("alert {} has a version at or past {} in the coordination database: another "
                                "member changed it",
                                alert.dedup_key, alert.version));
        }
        for (auto& n : notifications) {
            auto sql = fmt::format(
                "INSERT INTO {} (receiver, destination, dedup_key, action, event_json, enqueued_at,\n"
                "    claimed_by, claim_epoch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                table("notifications"));
            std::vector<db::value> params{n.receiver,   std::to_string(n.destination), n.dedup_key, n.action,
                                          n.event_json, number(n.enqueued_at),        member_,     std::to_string(epoch)};
            const auto rows = co_await exec(std::move(sql), std::move(params));
            if (rows.rows.empty()) throw db::error(db::error_kind::query, "INSERT … RETURNING id returned no row");
            n.id = db::integer_of(rows.rows[0][0]);
            n.claim_epoch = epoch;
        }
        co_await commit_transaction();
    } catch (...) {
        failure = std::current_exception();
    }
    co_await roll_back_on(failure);
    co_return notifications;
}

asio::awaitable<void> pg_state_store::remove_notifications(std::vector<std::int64_t> ids) {
    if (ids.empty()) co_return;
    auto sql = fmt::format("UPDATE {} SET delivered_at = now()\n"
                           "WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint)",
                           table("notifications"));
    std::vector<db::value> params{json_list(ids)};
    co_await exec(std::move(sql), std::move(params));
}

asio::awaitable<void> pg_state_store::forget_alerts(std::vector<std::string> dedup_keys) {
    if (dedup_keys.empty()) co_return;
    auto sql = fmt::format("DELETE FROM {} WHERE dedup_key IN (SELECT jsonb_array_elements_text($1::jsonb))\n"
                           "  AND written_by = $2",
                           table("alerts"));
    std::vector<db::value> params{json_list(dedup_keys), member_};
    co_await exec(std::move(sql), std::move(params));
}

asio::awaitable<std::vector<state::stored_ledger>> pg_state_store::load_ledgers() {
    std::vector<state::stored_ledger> out;
    auto sql = fmt::format("SELECT instance, document FROM {}", table("ledgers"));
    const auto rows = co_await exec(std::move(sql));
    for (const auto& row : rows.rows) {
        try {
            const auto document = nlohmann::json::parse(db::text_of(row[1]));
            state::stored_ledger ledger;
            ledger.instance = db::text_of(row[0]);
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
    co_return out;
}

asio::awaitable<void> pg_state_store::write_ledger(state::stored_ledger ledger) {
    auto sql = fmt::format("INSERT INTO {} (instance, document) VALUES ($1, $2)\n"
                           "ON CONFLICT (instance) DO UPDATE SET document = EXCLUDED.document",
                           table("ledgers"));
    std::vector<db::value> params{ledger.instance, ledger_json(ledger)};
    co_await exec(std::move(sql), std::move(params));
}

asio::awaitable<void> pg_state_store::forget_ledgers(std::vector<std::string> instances) {
    auto keys = json_list(instances);  // named: not a temporary inside co_await (g++ 12)
    co_await delete_listed("ledgers", "instance", std::move(keys));
}

asio::awaitable<std::vector<std::string>> pg_state_store::load_silences() {
    std::vector<std::string> out;
    auto sql = fmt::format("SELECT document FROM {} ORDER BY id", table("silences"));
    const auto rows = co_await exec(std::move(sql));
    for (const auto& row : rows.rows) out.push_back(db::text_of(row[0]));
    co_return out;
}

asio::awaitable<void> pg_state_store::write_silence(std::string id, std::string document) {
    auto sql = fmt::format("INSERT INTO {} (id, document) VALUES ($1, $2)\n"
                           "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document, updated_at = now()",
                           table("silences"));
    std::vector<db::value> params{std::move(id), std::move(document)};
    co_await exec(std::move(sql), std::move(params));
}

asio::awaitable<void> pg_state_store::forget_silences(std::vector<std::string> ids) {
    auto keys = json_list(ids);  // named: not a temporary inside co_await (g++ 12)
    co_await delete_listed("silences", "id", std::move(keys));
}

asio::awaitable<std::vector<state::stored_history_point>> pg_state_store::load_history(std::size_t per_instance) {
    std::vector<state::stored_history_point> out;
    auto sql = fmt::format(
        "SELECT instance, time, value, outcome FROM (\n"
        "  SELECT *, row_number() OVER (PARTITION BY instance ORDER BY time DESC) AS newest FROM {}) h\n"
        "WHERE newest <= $1 ORDER BY instance, time",
        table("history"));
    std::vector<db::value> params{std::to_string(per_instance)};
    const auto rows = co_await exec(std::move(sql), std::move(params));
    for (const auto& row : rows.rows) {
        state::stored_history_point point;
        point.instance = db::text_of(row[0]);
        point.time = db::real_of(row[1]);
        if (!std::holds_alternative<std::nullptr_t>(row[2])) point.value = db::to_number(row[2]);
        point.outcome = db::text_of(row[3]);
        out.push_back(std::move(point));
    }
    co_return out;
}

asio::awaitable<void> pg_state_store::forget_history(std::vector<std::string> instances) {
    auto keys = json_list(instances);  // named: not a temporary inside co_await (g++ 12)
    co_await delete_listed("history", "instance", std::move(keys));
}

asio::awaitable<void> pg_state_store::record_run(state::stored_history_point point, std::size_t keep,
                                                 std::string document, std::optional<state::stored_ledger> ledger) {
    db::value ledger_document = nullptr;
    if (ledger) ledger_document = ledger_json(*ledger);
    db::value value = nullptr;
    if (point.value) value = number(*point.value);
    // One statement: the ledger (when given) and the result upserted, the history point
    // added, what falls beyond the newest `keep` points trimmed.
    auto sql = fmt::format(
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
        fmt::arg("r", table("results")), fmt::arg("h", table("history")), fmt::arg("l", table("ledgers")));
    std::vector<db::value> params{point.instance, number(point.time), value,  point.outcome, std::to_string(keep),
                                  member_,        std::move(document), ledger_document};
    co_await exec(std::move(sql), std::move(params));
}

asio::awaitable<std::vector<state::stored_result>> pg_state_store::load_results(std::string after) {
    // Only what changed since the last read: every member reads this every lease/3.
    std::vector<state::stored_result> out;
    auto sql = fmt::format("SELECT instance, document, updated_at::text FROM {}\n"
                           "WHERE $1::text = '' OR updated_at > $1::text::timestamptz ORDER BY updated_at",
                           table("results"));
    std::vector<db::value> params{std::move(after)};
    const auto rows = co_await exec(std::move(sql), std::move(params));
    for (const auto& row : rows.rows) out.push_back({db::text_of(row[0]), db::text_of(row[1]), db::text_of(row[2])});
    co_return out;
}

asio::awaitable<std::size_t> pg_state_store::import_missing(state::sqlite_state_store& local) {
    // Each kind goes in one set-based statement (rows as one JSON parameter, unpacked by
    // jsonb_to_recordset), inserting only what the shared store does not have yet.
    const auto epoch = epoch_->load();
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& alert : local.load_alerts()) {
        std::string instance;
        try {
            instance = nlohmann::json::parse(alert.record_json).value("check", "");
        } catch (const std::exception&) {
            continue;
        }
        alerts.push_back({{"dedup_key", alert.dedup_key},
                          {"instance", instance},
                          {"record_json", alert.record_json},
                          {"version", alert.version}});
    }
    nlohmann::json ledgers = nlohmann::json::array();
    for (const auto& ledger : local.load_ledgers())
        ledgers.push_back({{"instance", ledger.instance}, {"document", ledger_json(ledger)}});
    nlohmann::json silences = nlohmann::json::array();
    for (const auto& document : local.load_silences()) {
        std::string id;
        try {
            id = nlohmann::json::parse(document).value("id", "");
        } catch (const std::exception&) {
            continue;
        }
        if (!id.empty()) silences.push_back({{"id", id}, {"document", document}});
    }
    const auto rows_of = [](const nlohmann::json& rows) {
        return rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    auto alerts_sql = fmt::format(
        "INSERT INTO {} (dedup_key, instance, record_json, version, written_by, written_epoch)\n"
        "SELECT r.dedup_key, r.instance, r.record_json, r.version, $2::text, $3::bigint\n"
        "FROM jsonb_to_recordset($1::jsonb) AS r(dedup_key text, instance text, record_json text, version bigint)\n"
        "ON CONFLICT (dedup_key) DO NOTHING RETURNING 1",
        table("alerts"));
    std::vector<db::value> alerts_params{rows_of(alerts), member_, std::to_string(epoch)};
    // Ledgers and silences are both a text key and a document.
    const auto documents_sql = [this](const char* table_name, const char* key) {
        return fmt::format(
            "INSERT INTO {0} ({1}, document)\n"
            "SELECT r.{1}, r.document FROM jsonb_to_recordset($1::jsonb) AS r({1} text, document text)\n"
            "ON CONFLICT ({1}) DO NOTHING",
            table(table_name), key);
    };
    auto ledgers_sql = documents_sql("ledgers", "instance");
    std::vector<db::value> ledgers_params{rows_of(ledgers)};
    auto silences_sql = documents_sql("silences", "id");
    std::vector<db::value> silences_params{rows_of(silences)};
    std::size_t imported = 0;
    std::exception_ptr failure;
    try {
        co_await begin();
        const auto written = co_await exec(std::move(alerts_sql), std::move(alerts_params));
        imported = written.rows.size();
        co_await exec(std::move(ledgers_sql), std::move(ledgers_params));
        co_await exec(std::move(silences_sql), std::move(silences_params));
        co_await commit_transaction();
    } catch (...) {
        failure = std::current_exception();
    }
    co_await roll_back_on(failure);
    co_return imported;
}

}  // namespace invariantd::cluster
