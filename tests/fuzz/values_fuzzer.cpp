// Database values → JSON: whatever bytes a PostgreSQL text cell (any type OID we convert)
// or a SQLite cell (TEXT, BLOB, or the same bytes cast to REAL and INTEGER) holds, the value
// becomes JSON that serialises strictly (no invalid UTF-8 can reach a payload, page, label
// or key) and parses back to the same JSON; offender keys and key arrays are valid UTF-8.
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "checks/module_support.hpp"
#include "daemon/common/utf8.hpp"
#include "daemon/db/postgres_database.hpp"
#include "daemon/db/sqlite_database.hpp"

namespace {

using namespace invariantd;

void require(bool condition) {
    if (!condition) std::abort();
}

void check_value(const db::value& value) {
    const auto json = checks::to_json(value);
    const std::string text = json.dump();  // strict: throws on invalid UTF-8
    const auto parsed = nlohmann::ordered_json::parse(text);
    // JSON has no NaN or infinity: nlohmann writes them as null (SQLite casts '1e999' to Inf).
    if (json.is_number_float() && !std::isfinite(json.get<double>())) require(parsed.is_null());
    else require(parsed == json);
    const std::string key = checks::offender_key(db::to_string(value));
    require(valid_utf8(key) == key && key.size() <= 512 + 7 + 64);
    (void)checks::json_array_key({value, nullptr});
}

sqlite3_stmt* statement() {
    static sqlite3* connection = [] {
        sqlite3* opened = nullptr;
        require(sqlite3_open_v2(":memory:", &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nullptr) == SQLITE_OK);
        return opened;
    }();
    static sqlite3_stmt* prepared = [] {
        sqlite3_stmt* made = nullptr;
        require(sqlite3_prepare_v2(connection,
                                   "SELECT ?1, ?2, CAST(?1 AS TEXT), CAST(?1 AS REAL), CAST(?1 AS INTEGER), "
                                   "CAST(?2 AS TEXT)",
                                   -1, &made, nullptr) == SQLITE_OK);
        return made;
    }();
    return prepared;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static const unsigned oids[] = {16, 20, 21, 23, 25, 26, 700, 701, 1043, 1082, 1114, 1184, 1700, 2950, 3802, 17};
    const unsigned oid = oids[data[0] % (sizeof oids / sizeof oids[0])];
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

    check_value(db::postgres_text_value(oid, text));

    sqlite3_stmt* select = statement();
    sqlite3_reset(select);
    sqlite3_bind_text(select, 1, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(select, 2, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    require(sqlite3_step(select) == SQLITE_ROW);
    db::rowset rows;
    rows.columns = {"text", "blob", "as_text", "as_real", "as_integer", "blob_text"};
    rows.rows.emplace_back();
    for (int column = 0; column < sqlite3_column_count(select); ++column) {
        rows.rows.back().push_back(db::sqlite_column_value(select, column));
        check_value(rows.rows.back().back());
    }
    // Column by column the values were compared above; here the whole sample must serialise.
    const auto samples = checks::rows_as_samples(rows);
    require(nlohmann::ordered_json::parse(samples.dump()).size() == 1);
    return 0;
}
