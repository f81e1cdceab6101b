// The local state store on real SQLite files: versions (compare-and-set), writer epochs,
// claims, schema versions and the recovery of damaged files.
#include <catch2/catch.hpp>

#include <filesystem>

#include "daemon/state/sqlite_state_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sqlite_fixture.hpp"
#include "tests/support/temp_dir.hpp"

using namespace invariantd;
using namespace invariantd::test;

namespace {

state::stored_notification note(const std::string& key) {
    state::stored_notification row;
    row.receiver = "hook";
    row.dedup_key = key;
    row.action = "trigger";
    row.event_json = R"({"summary":")" + std::string(200, 'x') + R"("})";
    return row;
}

}  // namespace

TEST_CASE("state store: alert versions only move forward; each open is a new writer epoch", "[state]") {
    temp_dir dir;
    const auto path = (dir.path() / "outbox.db").string();
    {
        state::sqlite_state_store store(path);
        CHECK(store.writer_epoch() == 1);
        std::vector<state::stored_notification> none;
        store.commit({{"invariantd/a", "{}", 1}}, none);
        store.commit({{"invariantd/a", "{}", 2}}, none);
        CHECK_THROWS_AS(store.commit({{"invariantd/a", "{\"stale\":true}", 2}}, none), state::version_conflict);
        const auto alerts = store.load_alerts();
        REQUIRE(alerts.size() == 1);
        CHECK(alerts[0].version == 2);
        CHECK(alerts[0].record_json == "{}");  // the conflicting write left nothing behind
        std::vector<state::stored_notification> rows{note("invariantd/a")};
        store.commit({}, rows);
        CHECK(rows[0].id > 0);
        CHECK(rows[0].claim_epoch == 1);
    }
    state::sqlite_state_store again(path);
    CHECK(again.writer_epoch() == 2);
    const auto claimed = again.claim_notifications(1e12);
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].claim_epoch == 2);
    CHECK(claimed[0].claim_until == 1e12);
    CHECK_FALSE(again.opened().recovered);
}

TEST_CASE("state store: a file from a newer release is refused, not downgraded", "[state]") {
    temp_dir dir;
    const auto path = (dir.path() / "outbox.db").string();
    { state::sqlite_state_store store(path); }
    sqlite_exec(path, "PRAGMA user_version = 99");
    try {
        state::sqlite_state_store store(path);
        FAIL("opened a file with a newer schema");
    } catch (const state::state_error& e) {
        CHECK(std::string(e.what()).find(path) != std::string::npos);
        CHECK(std::string(e.what()).find("newer") != std::string::npos);
    }
}

TEST_CASE("state store: a truncated file is set aside and replaced", "[state]") {
    temp_dir dir;
    const auto path = (dir.path() / "outbox.db").string();
    {
        state::sqlite_state_store store(path);
        std::vector<state::stored_notification> rows;
        for (int i = 0; i < 400; ++i) rows.push_back(note("invariantd/check" + std::to_string(i)));
        store.commit({}, rows);
    }
    const auto size = std::filesystem::file_size(path);
    REQUIRE(size > 64 * 1024);
    std::filesystem::resize_file(path, size / 2);
    state::sqlite_state_store store(path);
    CHECK(store.opened().recovered);
    CHECK(store.claim_notifications(1).empty());
    CHECK(std::filesystem::exists(store.opened().set_aside_as));
    CHECK(std::filesystem::file_size(store.opened().set_aside_as) == size / 2);
}

TEST_CASE("state store: ledgers are stored whole and a damaged ledger.db is set aside on its own", "[state]") {
    temp_dir dir;
    const auto path = (dir.path() / "outbox.db").string();
    {
        state::sqlite_state_store store(path);
        state::stored_ledger ledger{"shifts", "{\"module\":\"shift_coverage\"}", 1800000100.5, true,
                                    {{"1005", 1800000000.0, false}, {"1100", 1800000100.5, true}},
                                    {{"1004", 1799990000.0, 1800000100.5}}};
        store.write_ledger(ledger);
        store.write_ledger({"gone", "{}", 1.0, false, {{"x", 1.0, true}}, {}});
        store.forget_ledgers({"gone"});
        ledger.offenders.pop_back();  // a later run: written whole again
        store.write_ledger(ledger);
    }
    {
        state::sqlite_state_store store(path);
        const auto ledgers = store.load_ledgers();
        REQUIRE(ledgers.size() == 1);
        CHECK(ledgers[0].instance == "shifts");
        CHECK(ledgers[0].truncated);
        CHECK(ledgers[0].last_seen == 1800000100.5);
        REQUIRE(ledgers[0].offenders.size() == 1);
        CHECK(ledgers[0].offenders[0].key == "1005");
        CHECK_FALSE(ledgers[0].offenders[0].is_new);
        REQUIRE(ledgers[0].recently_cleared.size() == 1);
        CHECK(ledgers[0].recently_cleared[0].cleared_at == 1800000100.5);
        std::vector<state::stored_notification> rows{note("invariantd/shifts")};
        store.commit({}, rows);
    }
    std::filesystem::resize_file(dir.path() / "ledger.db", 100);  // a torn write: not a database any more
    state::sqlite_state_store store(path);
    CHECK(store.ledger_opened().recovered);
    CHECK_FALSE(store.opened().recovered);
    CHECK(store.load_ledgers().empty());
    CHECK(store.claim_notifications(1).size() == 1);  // the outbox kept its queue
}
