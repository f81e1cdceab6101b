// Offender keys (README "Offenders"): valid UTF-8, bounded length, JSON-array keys.
#include <catch2/catch.hpp>

#include <openssl/sha.h>

#include <fmt/format.h>

#include "checks/module_support.hpp"
#include "checks/registry.hpp"
#include "daemon/db/postgres_database.hpp"
#include "daemon/db/sqlite_database.hpp"

#include <sqlite3.h>

using namespace invariantd;
using namespace invariantd::checks;

TEST_CASE("offender keys are valid UTF-8 and at most 512 bytes", "[offenders]") {
    CHECK(offender_key("1004") == "1004");
    CHECK(offender_key("caf\xC3\xA9") == "caf\xC3\xA9");                 // valid two-byte sequence kept
    CHECK(offender_key("a\xFF" "b") == "a\xEF\xBF\xBD" "b");            // invalid byte → U+FFFD
    CHECK(offender_key("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");       // overlong form
    CHECK(offender_key("\xED\xA0\x80").find("\xEF\xBF\xBD") == 0);       // a surrogate
    const std::string exact(512, 'k');
    CHECK(offender_key(exact) == exact);
    const std::string long_key(513, 'k');
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(long_key.data()), long_key.size(), digest);
    std::string expected = "sha256:";
    for (unsigned char byte : digest) expected += fmt::format("{:02x}", byte);
    CHECK(offender_key(long_key) == expected);
    CHECK(offender_key(long_key).size() == 7 + 64);
}

TEST_CASE("JSON-array keys hold the values' text forms, NULL as null", "[offenders]") {
    CHECK(json_array_key({db::value(std::string("c1")), db::value(std::string("t9"))}) == R"(["c1","t9"])");
    CHECK(json_array_key({db::value(std::int64_t{5}), db::value(std::int64_t{3})}) == R"(["5","3"])");
    CHECK(json_array_key({db::value(nullptr), db::value(std::string("a\"b"))}) == R"([null,"a\"b"])");
}

TEST_CASE("each module renders its samples as lines a person reads", "[offenders][sample_lines]") {
    const auto line = [](const char* module, const nlohmann::json& params, const nlohmann::ordered_json& sample) {
        const auto* found = find_module(module);
        REQUIRE(found != nullptr);
        return found->sample_line(sample, module_args(params));
    };
    const auto defaults = [](const char* module) { return default_params(find_module(module)->parameters()); };
    CHECK(line("shift_coverage", defaults("shift_coverage"),
               {{"event_id", 221}, {"title", "Downtown Concert After-Party"}, {"role", "Bartender"}, {"needed", 3},
                {"actual", 1}, {"missing", 2}, {"key", "1004"}}) ==
          "Event 221 Downtown Concert After-Party \u2014 Bartender 1/3 (2 missing)");
    CHECK(line("duplicates", defaults("duplicates"),
               {{"crew_call_id", "cc-2"}, {"technician_id", "tech-2"}, {"count", 3}, {"ids", {3, 4, 5}}, {"key", "k"}}) ==
          "crew_call_id=cc-2, technician_id=tech-2: 3 rows (ids 3, 4, 5)");
    CHECK(line("orphans", defaults("orphans"), {{"relation", "racks.audit_session_id"}, {"id", 102}, {"value", 99}}) ==
          "racks.audit_session_id row 102 points at 99, which does not exist");
    CHECK(line("event_pairing", defaults("event_pairing"),
               {{"event_number", "606999"}, {"core_name", "606999-CORE-Orphan"}, {"problem", "no_supervisor"}}) ==
          "Event 606999 606999-CORE-Orphan: no supervisor");
    CHECK(line("backlog", defaults("backlog"), {{"id", 4}, {"age_seconds", 1234.5}, {"key", "4"}}) ==
          "row 4 pending for 20m34s");
    CHECK(line("coverage", defaults("coverage"), {{"id", 1}, {"created_at", "2026-11-30 10:00:00"}, {"key", "1"}}) ==
          "row 1 (created_at 2026-11-30 10:00:00) has no server_id");
    CHECK(line("sync_failure_rate", defaults("sync_failure_rate"),
               {{"id", 17}, {"created_at", "2026-11-30 10:00:00"}, {"department", "sound"}, {"key", "17"}}) ==
          "sync 17 failed at 2026-11-30 10:00:00 (sound)");
    CHECK(line("schema", defaults("schema"), {{"expectation", "rls_enabled:sales"}, {"met", false}}) ==
          "unmet: rls_enabled:sales");
    CHECK(line("sql", nlohmann::json{{"query", "select 1"}, {"mode", "rows"}}, {{"id", 2}, {"bar", nullptr}, {"key", "[\"2\"]"}}) ==
          "id=2, bar=NULL");
}

TEST_CASE("database text reaches the daemon as valid UTF-8, so JSON never refuses it", "[offenders]") {
    // Found by tests/fuzz/values_fuzzer: a SQLite TEXT/BLOB cell (or text in a SQL_ASCII
    // PostgreSQL database) with invalid UTF-8 made nlohmann::json::dump() throw wherever a
    // sample was serialised — the alert event, the API answer.
    CHECK(std::get<std::string>(db::postgres_text_value(25, "a\xFF")) == "a\xEF\xBF\xBD");
    CHECK(std::get<std::string>(db::postgres_text_value(1043, "caf\xC3\xA9")) == "caf\xC3\xA9");
    CHECK(std::get<std::int64_t>(db::postgres_text_value(20, "9223372036854775807")) == 9223372036854775807);
    CHECK(std::get<std::string>(db::postgres_text_value(16, "t")) == "true");

    sqlite3* connection = nullptr;
    REQUIRE(sqlite3_open(":memory:", &connection) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(connection, "SELECT x'ff', CAST(x'c0af' AS TEXT), 7, 0.5", -1, &statement, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    db::rowset rows;
    rows.columns = {"blob", "text", "int", "real"};
    rows.rows.emplace_back();
    for (int column = 0; column < 4; ++column) rows.rows.back().push_back(db::sqlite_column_value(statement, column));
    sqlite3_finalize(statement);
    sqlite3_close(connection);
    const auto samples = rows_as_samples(rows);
    std::string text;
    REQUIRE_NOTHROW(text = samples.dump());  // strict: throws on invalid UTF-8
    CHECK(text == "[{\"blob\":\"\xEF\xBF\xBD\",\"text\":\"\xEF\xBF\xBD\xEF\xBF\xBD\",\"int\":7,\"real\":0.5}]");
}
