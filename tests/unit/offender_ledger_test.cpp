// The offender ledger: new, persisting and cleared keys run after run, first_seen kept,
// the last 100 cleared kept, order of the last run.
#include <catch2/catch.hpp>

#include "daemon/alerting/offender_ledger.hpp"

using namespace invariantd;
using namespace std::chrono_literals;

namespace {
const auto t0 = system_clock::time_point(std::chrono::seconds(1'800'000'000));
std::vector<std::string> keys_of(const offender_ledger& ledger) {
    std::vector<std::string> out;
    for (const auto& entry : ledger.offenders()) out.push_back(entry.key);
    return out;
}
}  // namespace

TEST_CASE("ledger: new, persisting, cleared", "[offenders][ledger]") {
    offender_ledger ledger("def");
    CHECK(ledger.apply({"1004", "1005", "1008"}, false, t0) == 0);
    CHECK(ledger.new_count() == 3);
    CHECK(ledger.oldest_first_seen() == t0);

    // A backfill fixes 1004; 1010 appears; the order is the run's.
    CHECK(ledger.apply({"1010", "1008", "1005"}, true, t0 + 1h) == 1);
    CHECK(keys_of(ledger) == std::vector<std::string>{"1010", "1008", "1005"});
    CHECK(ledger.find("1010")->is_new);
    CHECK(ledger.find("1010")->first_seen == t0 + 1h);
    CHECK_FALSE(ledger.find("1005")->is_new);
    CHECK(ledger.find("1005")->first_seen == t0);  // persisting keeps its first_seen
    CHECK(ledger.new_count() == 1);
    CHECK(ledger.truncated());
    CHECK(ledger.last_seen() == t0 + 1h);
    REQUIRE(ledger.recently_cleared().size() == 1);
    CHECK(ledger.recently_cleared()[0].key == "1004");
    CHECK(ledger.recently_cleared()[0].first_seen == t0);
    CHECK(ledger.recently_cleared()[0].cleared_at == t0 + 1h);
    CHECK(ledger.oldest_first_seen() == t0);

    // Everything fixed.
    CHECK(ledger.apply({}, false, t0 + 2h) == 3);
    CHECK(ledger.offenders().empty());
    CHECK_FALSE(ledger.oldest_first_seen());
    CHECK(ledger.recently_cleared().size() == 4);
}

TEST_CASE("ledger: only the last 100 cleared are kept, newest first", "[offenders][ledger]") {
    offender_ledger ledger("def");
    std::vector<std::string> many;
    for (int i = 0; i < 150; ++i) many.push_back("k" + std::to_string(i));
    ledger.apply(many, false, t0);
    CHECK(ledger.apply({}, false, t0 + 1min) == 150);
    CHECK(ledger.recently_cleared().size() == offender_ledger::kept_cleared);
    ledger.apply({"x"}, false, t0 + 2min);
    ledger.apply({}, false, t0 + 3min);
    CHECK(ledger.recently_cleared().front().key == "x");
    CHECK(ledger.recently_cleared().size() == offender_ledger::kept_cleared);
}

TEST_CASE("ledger: a restored ledger continues, a repeated key counts once", "[offenders][ledger]") {
    auto ledger = offender_ledger::restore("def", {{"a", t0, false}, {"b", t0 + 1h, true}}, {}, false, t0 + 1h);
    ledger.apply({"b", "a", "b"}, false, t0 + 2h);
    CHECK(keys_of(ledger) == std::vector<std::string>{"b", "a"});
    CHECK(ledger.find("a")->first_seen == t0);
    CHECK_FALSE(ledger.find("b")->is_new);  // it persisted
}
