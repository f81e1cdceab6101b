// Silences, maintenance windows and flap damping as pure functions: glob matching, RFC 3339
// parsing, every validation of a POST /api/v1/silences body, weekly windows across both
// daylight-saving changes of Europe/Berlin (fixed instants), and the alert book holding and
// releasing notifications (the three end-of-silence cases of SPEC §10) and keep_firing_for.
#include "daemon/alerting/mute_schedule.hpp"

#include <catch2/catch.hpp>

#include "daemon/alerting/alert_book.hpp"
#include "daemon/common/glob.hpp"
#include "daemon/common/time_format.hpp"

using namespace invariantd;
using namespace std::chrono_literals;

namespace {

system_clock::time_point at(const char* rfc3339) {
    const auto parsed = parse_rfc3339(rfc3339);
    REQUIRE(parsed);
    return *parsed;
}

config::maintenance_window weekly(std::vector<unsigned> days, int hour, int minute, duration length,
                                  std::string zone = "Europe/Berlin") {
    config::maintenance_window window;
    window.name = "nightly";
    window.checks = {"flex_*"};
    window.weekly = config::weekly_schedule{std::move(days), std::chrono::minutes(hour * 60 + minute), length,
                                            std::move(zone)};
    return window;
}

}  // namespace

TEST_CASE("glob: * and ? over whole names", "[silences]") {
    CHECK(glob_match("flex_*", "flex_crew_sync"));
    CHECK(glob_match("*", "anything"));
    CHECK(glob_match("shift_coverage", "shift_coverage"));
    CHECK_FALSE(glob_match("shift_coverage", "shift_coverage2"));
    CHECK(glob_match("s?ift_*e", "shift_coverage"));
    CHECK_FALSE(glob_match("flex_*", "crew_flex_sync"));
    CHECK(glob_match("*_sync", "crew_flex_sync"));
    CHECK(glob_match("a*b*c", "aXXbYYc"));
    CHECK_FALSE(glob_match("a*b*c", "aXXbYY"));
    CHECK_FALSE(glob_match("?", ""));
}

TEST_CASE("RFC 3339: zones, fractions, and what is refused", "[silences]") {
    CHECK(format_rfc3339(at("2026-12-05T22:00:00Z")) == "2026-12-05T22:00:00.000Z");
    CHECK(format_rfc3339(at("2026-12-05T23:30:00+01:30")) == "2026-12-05T22:00:00.000Z");
    CHECK(format_rfc3339(at("2026-12-05t22:00:00.250z")) == "2026-12-05T22:00:00.250Z");
    CHECK(format_rfc3339(at("2026-12-05 17:00:00-05:00")) == "2026-12-05T22:00:00.000Z");
    for (const char* bad :
         {"2026-12-05T22:00:00", "2026-02-30T00:00:00Z", "2026-12-05T24:00:00Z", "tomorrow",
          "2026-12-05T22:00Z", "2026-12-05T22:00:00+1:00", "2026-12-05T22:00:00Z trailing", ""})
        CHECK_FALSE(parse_rfc3339(bad));
}

TEST_CASE("silence requests: every field is validated and named", "[silences]") {
    const auto now = at("2026-11-30T12:00:00Z");
    auto rejected = [&](const std::string& body) {
        auto parsed = parse_silence_request(body, now);
        REQUIRE(std::holds_alternative<silence_rejection>(parsed));
        return std::get<silence_rejection>(parsed);
    };
    const std::string who = R"("comment": "seed-001 migration", "created_by": "dba")";
    CHECK(rejected("{not json").field == "body");
    CHECK(rejected("[1]").field == "body");
    CHECK(rejected(R"({"checks": ["a"], "duration": "2h", )" + who + R"(, "colour": "red"})").field ==
          "colour");
    CHECK(rejected(R"({"duration": "2h", )" + who + "}").field == "checks");
    CHECK(rejected(R"({"checks": [], "duration": "2h", )" + who + "}").field == "checks");
    CHECK(rejected(R"({"checks": "a", "duration": "2h", )" + who + "}").field == "checks");
    CHECK(rejected(R"({"checks": [""], "duration": "2h", )" + who + "}").field == "checks");
    CHECK(rejected(R"({"checks": ["a"], "duration": "2h", "created_by": "dba"})").field == "comment");
    CHECK(rejected(R"({"checks": ["a"], "duration": "2h", "comment": "", "created_by": "dba"})").field ==
          "comment");
    CHECK(rejected(R"({"checks": ["a"], "duration": "2h", "comment": "x"})").field == "created_by");
    CHECK(rejected(R"({"checks": ["a"], )" + who + "}").field == "duration");
    CHECK(rejected(R"({"checks": ["a"], "duration": "2h", "ends_at": "2026-12-01T00:00:00Z", )" + who + "}")
              .field == "duration");
    CHECK(rejected(R"({"checks": ["a"], "duration": "two hours", )" + who + "}").field == "duration");
    CHECK(rejected(R"({"checks": ["a"], "duration": "0s", )" + who + "}").field == "duration");
    CHECK(rejected(R"({"checks": ["a"], "duration": "91d", )" + who + "}").field == "duration");
    CHECK(rejected(R"({"checks": ["a"], "ends_at": "2026-11-30T11:00:00Z", )" + who + "}").field ==
          "ends_at");
    CHECK(rejected(R"({"checks": ["a"], "ends_at": "2027-03-01T12:00:01Z", )" + who + "}").field ==
          "ends_at");
    CHECK(rejected(R"({"checks": ["a"], "ends_at": "soon", )" + who + "}").field == "ends_at");

    auto accepted = parse_silence_request(
        R"({"checks": ["shift_coverage", "flex_*"], "duration": "90d", )" + who + "}", now);
    REQUIRE(std::holds_alternative<silence>(accepted));
    const auto& entry = std::get<silence>(accepted);
    CHECK(entry.ends_at == now + std::chrono::hours(24 * 90));  // 90 days inclusive
    CHECK(entry.matches("flex_sync"));
    CHECK_FALSE(entry.matches("crew"));
    auto until = parse_silence_request(
        R"({"checks": ["a"], "ends_at": "2026-11-30T14:00:00+01:00", )" + who + "}", now);
    REQUIRE(std::holds_alternative<silence>(until));
    CHECK(std::get<silence>(until).ends_at == at("2026-11-30T13:00:00Z"));
}

TEST_CASE("weekly windows follow Europe/Berlin across both daylight-saving changes",
          "[silences][maintenance]") {
    // 02:00 local on weekdays, one hour. Winter (CET, UTC+1): 01:00Z.
    const auto nightly = weekly({1, 2, 3, 4, 5}, 2, 0, 1h);
    auto span = current_or_next(nightly, at("2026-12-01T00:30:00Z"));  // a Tuesday
    REQUIRE(span);
    CHECK(format_rfc3339(span->start) == "2026-12-01T01:00:00.000Z");
    CHECK(format_rfc3339(span->end) == "2026-12-01T02:00:00.000Z");
    // Inside it: the current occurrence.
    span = current_or_next(nightly, at("2026-12-01T01:30:00Z"));
    CHECK(format_rfc3339(span->start) == "2026-12-01T01:00:00.000Z");
    // Friday after the window: the next is Monday.
    span = current_or_next(nightly, at("2026-12-04T03:00:00Z"));
    CHECK(format_rfc3339(span->start) == "2026-12-07T01:00:00.000Z");

    // Spring forward, Sunday 2027-03-28: 02:00–03:00 local does not exist; a window starting at
    // 02:30 that day begins at the gap's end (03:00 CEST = 01:00Z) and lasts its elapsed hour.
    const auto sunday = weekly({0}, 2, 30, 1h);
    span = current_or_next(sunday, at("2027-03-27T12:00:00Z"));
    REQUIRE(span);
    CHECK(format_rfc3339(span->start) == "2027-03-28T01:00:00.000Z");
    CHECK(format_rfc3339(span->end) == "2027-03-28T02:00:00.000Z");
    // The Sunday before (CET): 02:30 local = 01:30Z; the one after (CEST): 00:30Z.
    CHECK(format_rfc3339(current_or_next(sunday, at("2027-03-21T00:00:00Z"))->start) ==
          "2027-03-21T01:30:00.000Z");
    CHECK(format_rfc3339(current_or_next(sunday, at("2027-03-29T00:00:00Z"))->start) ==
          "2027-04-04T00:30:00.000Z");

    // Fall back, Sunday 2026-10-25: 02:00–03:00 local happens twice; the first (CEST) counts.
    span = current_or_next(sunday, at("2026-10-24T12:00:00Z"));
    CHECK(format_rfc3339(span->start) == "2026-10-25T00:30:00.000Z");
    CHECK(format_rfc3339(span->end) == "2026-10-25T01:30:00.000Z");
    // A daily 22:00 window for 1d is 24 hours of elapsed time, even across the change.
    const auto daily = weekly({0, 1, 2, 3, 4, 5, 6}, 22, 0, 24h);
    span = current_or_next(daily, at("2026-10-24T21:00:00Z"));  // Saturday 23:00 CEST
    CHECK(format_rfc3339(span->start) == "2026-10-24T20:00:00.000Z");
    CHECK(format_rfc3339(span->end) == "2026-10-25T20:00:00.000Z");

    // A window lasting 7 days that started 6 days ago still covers now.
    const auto long_one = weekly({1}, 0, 0, 24h * 7, "UTC");
    span = current_or_next(long_one, at("2026-12-06T23:00:00Z"));  // Sunday; started Monday 2026-11-30
    CHECK(format_rfc3339(span->start) == "2026-11-30T00:00:00.000Z");
}

TEST_CASE("mute schedule: a database set member is matched by its instance name or its check's name",
          "[silences][database_sets]") {
    mute_schedule mutes;
    const auto now = at("2026-12-01T01:30:00Z");
    silence members;
    members.id = "m";
    members.checks = {"missing_server/tenant_a*"};
    members.starts_at = now - 1h;
    members.ends_at = now + 1h;
    members.comment = "tenant a migrates";
    mutes.add(members);
    CHECK(mutes.cover_of("missing_server/tenant_a", now));
    CHECK(mutes.cover_of("missing_server/tenant_ab", now));
    CHECK_FALSE(mutes.cover_of("missing_server/tenant_b", now));
    CHECK_FALSE(mutes.cover_of("missing_server", now));
    silence whole;
    whole.id = "w";
    whole.checks = {"backlog"};
    whole.starts_at = now - 1h;
    whole.ends_at = now + 1h;
    mutes.add(whole);
    CHECK(mutes.cover_of("backlog/tenant_b", now));  // the check's name covers every member
    CHECK(mutes.cover_of("backlog", now));
    CHECK_FALSE(mutes.cover_of("backlogs/tenant_b", now));
}

TEST_CASE("mute schedule: silences and windows cover checks by glob; the latest end wins", "[silences]") {
    mute_schedule mutes;
    const auto now = at("2026-12-01T01:30:00Z");
    config::maintenance_window once;
    once.name = "migration";
    once.checks = {"*"};
    once.from = at("2026-12-05T22:00:00Z");
    once.until = at("2026-12-06T02:00:00Z");
    auto nightly = weekly({1, 2, 3, 4, 5}, 2, 0, 1h);
    nightly.action = config::maintenance_action::pause;
    mutes.set_windows({nightly, once});
    auto cover = mutes.cover_of("flex_sync", now);
    REQUIRE(cover);
    CHECK(cover->pause);
    CHECK(cover->reason == "maintenance window nightly");
    CHECK(cover->until == at("2026-12-01T02:00:00Z"));
    CHECK_FALSE(mutes.cover_of("shift_coverage", now));  // the one-off is in the future
    CHECK(mutes.cover_of("shift_coverage", at("2026-12-05T23:00:00Z")));
    CHECK_FALSE(mutes.cover_of("shift_coverage", at("2026-12-06T02:00:00Z")));  // [from, until)

    silence entry;
    entry.id = "s1";
    entry.checks = {"flex_*"};
    entry.starts_at = now - 1h;
    entry.ends_at = now + 2h;
    entry.comment = "seed-001 migration";
    entry.created_by = "dba";
    mutes.add(entry);
    cover = mutes.cover_of("flex_sync", now);
    CHECK(cover->until == now + 2h);
    CHECK(cover->reason == "seed-001 migration");
    CHECK(cover->pause);  // the window still pauses it
    CHECK(mutes.next_change(now) == at("2026-12-01T02:00:00Z"));

    // Expiry: ended now, listed for a day, then forgotten.
    const auto ended = mutes.expire("s1", now);
    REQUIRE(ended);
    CHECK(ended->ends_at == now);
    CHECK_FALSE(mutes.expire("nope", now));
    CHECK(mutes.listed(now).size() == 1);
    CHECK_FALSE(mutes.listed(now)[0].active(now));
    CHECK(mutes.forget_old(now + 23h).empty());
    CHECK(mutes.forget_old(now + 25h) == std::vector<std::string>{"s1"});
    CHECK(mutes.listed(now).empty());
}

namespace {

const auto t0 = system_clock::time_point(std::chrono::seconds(1'800'000'000));
const auto crew = check_instance::of("crew_duplicates");

config::check_config crew_check(std::vector<std::string> receivers = {"pager", "chat"}) {
    config::check_config check;
    check.name = "crew_duplicates";
    check.module = "duplicates";
    check.database = "crew";
    check.alert.when = config::parse_condition("> 0");
    check.alert.receivers = std::move(receivers);
    return check;
}

/// Feeds one successful run with `value`; the notifications it produced, as "action:receivers".
std::vector<std::string> feed(alert_book& book, const config::check_config& check, double value,
                              system_clock::time_point now, bool muted, checks::module_output& keep) {
    keep.value = value;
    run_observation run{value > 0 ? run_outcome::violation : run_outcome::ok, now, &keep, "", 0};
    std::vector<std::string> out;
    for (const auto& note : book.observe(check, crew, run, now, muted).notifications) {
        std::string line = note.event.resolve() ? "resolve:" : "trigger:";
        for (const auto& receiver : note.receivers) line += receiver + ",";
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> released(alert_book& book, const config::check_config& check,
                                  system_clock::time_point now) {
    std::vector<std::string> out;
    for (const auto& note : book.release(check, crew, now).notifications) {
        std::string line = note.event.resolve() ? "resolve:" : "trigger:";
        for (const auto& receiver : note.receivers) line += receiver + ",";
        out.push_back(line);
    }
    return out;
}

}  // namespace

TEST_CASE("silenced alerts: the state moves, notifications are held, the end brings receivers up to date",
          "[silences][alert_book]") {
    const auto check = crew_check();
    checks::module_output last;
    using list = std::vector<std::string>;

    SECTION("firing during the silence, never sent: a trigger to every receiver at the end") {
        alert_book book;
        CHECK(feed(book, check, 3, t0, true, last).empty());
        CHECK(book.state(crew) == alert_state::firing);
        CHECK(feed(book, check, 4, t0 + 1min, true, last).empty());
        CHECK(released(book, check, t0 + 2min) == list{"trigger:pager,chat,"});
        // The held event is the last run's: value 4.
        CHECK(book.find(dedup_key_for(crew, alert_kind::value))->last_event->value == 4);
        CHECK(released(book, check, t0 + 3min).empty());              // nothing twice
        CHECK(feed(book, check, 4, t0 + 4min, false, last).empty());  // no repeat before repeat_interval
    }
    SECTION("triggered before, resolved during the silence: a resolve at the end") {
        alert_book book;
        CHECK(feed(book, check, 3, t0, false, last) == list{"trigger:pager,chat,"});
        CHECK(feed(book, check, 0, t0 + 1min, true, last).empty());
        CHECK(book.state(crew) == alert_state::ok);
        // Not forgotten while the receivers still believe it firing.
        CHECK(book.forget_finished(t0 + 1h, 15min, {}).forgotten.empty());
        CHECK(released(book, check, t0 + 2min) == list{"resolve:pager,chat,"});
    }
    SECTION("triggered before and still firing, or ok through a flap: nothing at the end") {
        alert_book book;
        CHECK(feed(book, check, 3, t0, false, last) == list{"trigger:pager,chat,"});
        CHECK(feed(book, check, 0, t0 + 1min, true, last).empty());
        CHECK(feed(book, check, 5, t0 + 2min, true, last).empty());
        CHECK(released(book, check, t0 + 3min).empty());

        alert_book quiet;
        CHECK(feed(quiet, check, 3, t0, true, last).empty());
        CHECK(feed(quiet, check, 0, t0 + 1min, true, last).empty());
        CHECK(released(quiet, check, t0 + 2min).empty());
    }
    SECTION("a receiver added while silenced gets the trigger; one told already does not") {
        alert_book book;
        CHECK(feed(book, crew_check({"pager"}), 3, t0, false, last) == list{"trigger:pager,"});
        CHECK(feed(book, check, 3, t0 + 1min, true, last).empty());
        CHECK(released(book, check, t0 + 2min) == list{"trigger:chat,"});
    }
    SECTION("stored records written before silences: firing means its receivers were told") {
        alert_book book;
        CHECK(feed(book, check, 3, t0, false, last) == list{"trigger:pager,chat,"});
        auto json = nlohmann::json::parse(to_json(*book.find(dedup_key_for(crew, alert_kind::value))).dump());
        json.erase("told_firing");
        alert_book restored;
        restored.restore({record_from_json(json)});
        CHECK(restored.find(dedup_key_for(crew, alert_kind::value))->told_firing ==
              std::set<std::string>{"pager", "chat"});
    }
}

TEST_CASE("keep_firing_for: a flapping value pages once and resolves after the quiet period",
          "[alert_book]") {
    auto check = crew_check({"pager"});
    check.alert.keep_firing_for = 10min;
    checks::module_output last;
    alert_book book;
    using list = std::vector<std::string>;
    CHECK(feed(book, check, 3, t0, false, last) == list{"trigger:pager,"});
    CHECK(feed(book, check, 0, t0 + 1min, false, last).empty());  // false since t0+1min
    CHECK(book.state(crew) == alert_state::firing);
    CHECK(feed(book, check, 2, t0 + 2min, false, last).empty());  // back above: the clock resets
    CHECK(feed(book, check, 0, t0 + 3min, false, last).empty());
    CHECK(feed(book, check, 0, t0 + 12min, false, last).empty());  // 9 minutes false
    CHECK(book.state(crew) == alert_state::firing);
    CHECK(feed(book, check, 0, t0 + 13min, false, last) == list{"resolve:pager,"});  // 10 minutes
    CHECK(book.state(crew) == alert_state::ok);
}
