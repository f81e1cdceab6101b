// The alert book, the single owner of alert state: every transition of the value alert and
// the `:error` alert as tables of (run, time) → (state, notification), plus removal,
// forgetting and the restart cases (restore from stored records).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "daemon/alerting/alert_book.hpp"
#include "daemon/alerting/receiver_payloads.hpp"

using namespace invariantd;
using namespace std::chrono_literals;

namespace {

const auto t0 = system_clock::time_point(std::chrono::seconds(1'800'000'000));
const auto shifts = check_instance::of("shift_coverage");

config::check_config shift_check(duration for_duration = 0ms, duration repeat = 4h, std::size_t error_after = 3) {
    config::check_config check;
    check.name = "shift_coverage";
    check.module = "shift_coverage";
    check.database = "staffing";
    check.alert.when = config::parse_condition("> 0");
    check.alert.for_duration = for_duration;
    check.alert.repeat_interval = repeat;
    check.alert.error_after = error_after;
    check.alert.severity = "critical";
    check.alert.receivers = {"oncall"};
    check.alert.summary = "{{value}} shifts missing";
    return check;
}

checks::module_output output(double value) {
    checks::module_output out;
    out.value = value;
    return out;
}

/// One run fed to the book: its outcome, when, and what it saw.
struct step {
    duration at;            ///< after t0
    run_outcome outcome;
    double value = 0;       ///< the value of a successful run
    std::size_t failures = 0;
    // expectations
    alert_state value_state;
    const char* value_note;  ///< "" none, "trigger", "resolve"
    alert_state error_state = alert_state::ok;
    const char* error_note = "";
};

/// Drives `steps` through a book and checks each expectation; returns the book.
alert_book drive(const config::check_config& check, const std::vector<step>& steps, alert_book book = {}) {
    std::optional<checks::module_output> last_good;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        INFO("step " << i);
        if (succeeded(s.outcome)) last_good = output(s.value);
        const auto now = t0 + s.at;
        const auto update = book.observe(
            check, shifts, run_observation{s.outcome, now, last_good ? &*last_good : nullptr, "no such table", s.failures}, now);
        std::string value_note, error_note;
        for (const auto& n : update.notifications)
            (n.kind == alert_kind::value ? value_note : error_note) = to_string(n.event.action);
        CHECK(book.state(shifts) == s.value_state);
        CHECK(value_note == s.value_note);
        const auto* error = book.find("invariantd/shift_coverage:error");
        CHECK((error ? error->state : alert_state::ok) == s.error_state);
        CHECK(error_note == s.error_note);
        for (const auto& record : update.changed) CHECK(book.find(record.dedup_key)->version == record.version);
    }
    return book;
}

using enum alert_state;
// run outcomes (run_outcome::ok is spelled `passed`: `ok` is the alert state)
constexpr auto passed = run_outcome::ok;
constexpr auto violation = run_outcome::violation;
constexpr auto error = run_outcome::error;
constexpr auto timeout = run_outcome::timeout;

}  // namespace

TEST_CASE("alert book: the notification rule", "[alerting][book]") {
    CHECK(next_action(ok, std::nullopt, pending, t0, 4h) == alert_action::none);
    CHECK(next_action(pending, std::nullopt, firing, t0, 4h) == alert_action::trigger);
    CHECK(next_action(ok, std::nullopt, firing, t0, 4h) == alert_action::trigger);
    CHECK(next_action(firing, t0, firing, t0 + 4h - 1ms, 4h) == alert_action::none);
    CHECK(next_action(firing, t0, firing, t0 + 4h, 4h) == alert_action::trigger);
    CHECK(next_action(firing, t0, ok, t0 + 1s, 4h) == alert_action::resolve);
    CHECK(next_action(firing, t0, pending, t0 + 1s, 4h) == alert_action::resolve);
    CHECK(next_action(pending, std::nullopt, ok, t0, 4h) == alert_action::none);  // never paged: nothing to resolve
}

TEST_CASE("alert book: value alert without 'for' fires at once, repeats, resolves", "[alerting][book]") {
    drive(shift_check(0ms, 4h), {
        {0min, passed, 0, 0, ok, ""},
        {1min, violation, 168, 0, firing, "trigger"},
        {2min, violation, 168, 0, firing, ""},
        {1min + 4h, violation, 170, 0, firing, "trigger"},  // repeat_interval after the last trigger
        {2min + 4h, passed, 0, 0, ok, "resolve"},
        {3min + 4h, passed, 0, 0, ok, ""},
    });
}

TEST_CASE("alert book: 'for' keeps an alert pending; a clearing condition starts over", "[alerting][book]") {
    drive(shift_check(10min), {
        {0min, violation, 1, 0, pending, ""},
        {9min, violation, 1, 0, pending, ""},
        {9min + 30s, passed, 0, 0, ok, ""},  // pending and never paged: no resolve
        {10min, violation, 1, 0, pending, ""},
        {19min, violation, 1, 0, pending, ""},  // the clock restarted at 10 min
        {20min, violation, 1, 0, firing, "trigger"},
        {21min, passed, 0, 0, ok, "resolve"},
    });
}

TEST_CASE("alert book: failed runs change no value state; error alert after error_after failures", "[alerting][book]") {
    drive(shift_check(0ms, 4h, 3), {
        {0min, violation, 5, 0, firing, "trigger"},
        {1min, error, 0, 1, firing, "", ok, ""},
        {2min, timeout, 0, 2, firing, "", ok, ""},
        {3min, error, 0, 3, firing, "", firing, "trigger"},
        {4min, error, 0, 4, firing, "", firing, ""},
        {4h + 1min, error, 0, 5, firing, "trigger", firing, ""},  // value repeats (last good output); error sent at 3min
        {4h + 3min, error, 0, 6, firing, "", firing, "trigger"},  // error alert repeats 4h after its trigger
        {4h + 4min, passed, 0, 0, ok, "resolve", ok, "resolve"},  // one success resolves both
        {4h + 5min, error, 0, 1, ok, "", ok, ""},  // an outage never resolves or raises a value alert
    });
}

TEST_CASE("alert book: events carry the instance, action, times and evidence", "[alerting][book]") {
    alert_book book;
    const auto check = shift_check();
    auto seen = output(168);
    seen.details = {{"events_affected", 32}};
    auto update = book.observe(check, shifts, {violation, t0, &seen, "", 0}, t0);
    REQUIRE(update.notifications.size() == 1);
    const auto& trigger = update.notifications[0].event;
    CHECK(trigger.dedup_key == "invariantd/shift_coverage");
    CHECK(trigger.action == notify_action::trigger);
    CHECK(trigger.summary == "168 shifts missing");
    CHECK(trigger.starts_at == "2027-01-15T08:00:00.000Z");
    CHECK(update.notifications[0].receivers == std::vector<std::string>{"oncall"});
    REQUIRE(update.changed.size() == 1);
    CHECK(update.changed[0].version == 1);
    CHECK(update.changed[0].last_sent == t0);

    const auto clean = output(0);
    update = book.observe(check, shifts, {passed, t0 + 1min, &clean, "", 0}, t0 + 1min);
    REQUIRE(update.notifications.size() == 1);
    const auto& resolve = update.notifications[0].event;
    CHECK(resolve.action == notify_action::resolve);
    CHECK(resolve.starts_at == "2027-01-15T08:00:00.000Z");  // when the condition began, not now
    CHECK(resolve.ends_at == "2027-01-15T08:01:00.000Z");
    CHECK(update.changed[0].version == 2);
    CHECK(book.find("invariantd/shift_coverage")->resolved_at == t0 + 1min);

    // Members of a database set get their own alerts and keys.
    const auto member = check_instance::of_member("shift_coverage", "eu");
    update = book.observe(check, member, {violation, t0, &seen, "", 0}, t0);
    REQUIRE(update.notifications.size() == 1);
    CHECK(update.notifications[0].event.dedup_key == "invariantd/shift_coverage/eu");
    CHECK(book.state(member) == firing);
    CHECK(book.state(shifts) == ok);
}

TEST_CASE("alert book: a removed instance resolves its firing alerts, pending ones quietly", "[alerting][book]") {
    alert_book book;
    const auto seen = output(3);
    book.observe(shift_check(), shifts, {violation, t0, &seen, "", 0}, t0);
    const auto other = check_instance::of("duplicates");
    auto slow = shift_check(1h);
    slow.name = "duplicates";
    book.observe(slow, other, {violation, t0, &seen, "", 0}, t0);
    CHECK(book.state(other) == pending);

    auto update = book.retain({}, t0 + 1min);
    REQUIRE(update.notifications.size() == 1);  // the pending one was never paged
    CHECK(update.notifications[0].event.action == notify_action::resolve);
    CHECK(update.notifications[0].event.summary ==
          "shift_coverage resolved: the check was removed from the configuration");
    CHECK(update.changed.size() == 2);
    CHECK(book.state(shifts) == ok);
    CHECK(book.state(other) == ok);
    CHECK(book.retain({}, t0 + 2min).empty());  // nothing left to resolve
}

TEST_CASE("alert book: finished records are forgotten after keep_resolved unless still queued", "[alerting][book]") {
    alert_book book;
    const auto seen = output(3);
    const auto clean = output(0);
    book.observe(shift_check(), shifts, {violation, t0, &seen, "", 0}, t0);
    book.observe(shift_check(), shifts, {passed, t0 + 1min, &clean, "", 0}, t0 + 1min);
    CHECK(book.forget_finished(t0 + 10min, 15min, {}).forgotten.empty());
    CHECK(book.forget_finished(t0 + 20min, 15min, {"invariantd/shift_coverage"}).forgotten.empty());
    const auto update = book.forget_finished(t0 + 20min, 15min, {});
    CHECK(update.forgotten == std::vector<std::string>{"invariantd/shift_coverage"});
    CHECK(book.find("invariantd/shift_coverage") == nullptr);
}

TEST_CASE("alert book: restart cases continue from stored records", "[alerting][book]") {
    const auto check = shift_check(10min);
    SECTION("a firing alert is not re-paged after a restart, and resolves later") {
        auto before = drive(check, {{0min, violation, 5, 0, pending, ""}, {10min, violation, 5, 0, firing, "trigger"}});
        std::vector<alert_record> stored;
        for (const auto& [key, record] : before.records())
            stored.push_back(record_from_json(nlohmann::json::parse(to_json(record).dump())));
        alert_book after;
        after.restore(stored);
        drive(check, {{30min, violation, 5, 0, firing, ""}, {31min, passed, 0, 0, ok, "resolve"}}, std::move(after));
    }
    SECTION("'for' keeps counting across a restart") {
        auto before = drive(check, {{0min, violation, 5, 0, pending, ""}});
        std::vector<alert_record> stored;
        for (const auto& [key, record] : before.records()) stored.push_back(record);
        alert_book after;
        after.restore(stored);
        CHECK(after.active_since(shifts) == t0);
        drive(check, {{10min, violation, 5, 0, firing, "trigger"}}, std::move(after));
    }
    SECTION("the first run after a restart failing changes nothing and sends no repeat without evidence") {
        auto before = drive(shift_check(0ms, 1h), {{0min, violation, 5, 0, firing, "trigger"}});
        std::vector<alert_record> stored;
        for (const auto& [key, record] : before.records()) stored.push_back(record);
        alert_book after;
        after.restore(stored);
        // Two hours later, repeat_interval has passed, but no successful run since the restart.
        const auto update =
            after.observe(shift_check(0ms, 1h), shifts, {error, t0 + 2h, nullptr, "db down", 1}, t0 + 2h);
        CHECK(update.notifications.empty());
        CHECK(after.state(shifts) == firing);
    }
    SECTION("records written by release 0.1.0 (no version, no instance fields) load") {
        const auto old = nlohmann::json::parse(
            R"({"dedup_key":"invariantd/shift_coverage","check":"shift_coverage","error_alert":false,"state":"firing",
                "active_since":1796058620983,"last_sent":1796058620985,"resolved_at":null,"receivers":["hook"],
                "last_event":{"action":"trigger","dedup_key":"invariantd/shift_coverage","summary":"6 shifts"}})");
        const auto record = record_from_json(old);
        CHECK(record.instance == shifts);
        CHECK(record.kind == alert_kind::value);
        CHECK(record.state == firing);
        CHECK(record.version == 0);
        REQUIRE(record.last_event);
        CHECK(record.last_event->action == notify_action::trigger);
        CHECK(record.last_event->summary == "6 shifts");
    }
}

TEST_CASE("alert book: notify_on_new pages again for new offenders; events carry the offenders, new first",
          "[alerting][book][offenders]") {
    auto check = shift_check();
    check.alert.notify_on_new = true;
    check.alert.summary =
        "{{offenders.new}} new, {{offenders.persisting}} persisting, {{offenders.cleared}} cleared, oldest {{offenders.oldest_age}}";
    auto with = [](std::vector<std::string> keys) {
        auto out = output(static_cast<double>(keys.size()));
        out.offenders = keys;
        for (const auto& key : keys) out.samples.push_back({{"key", key}});
        return out;
    };
    alert_book book;
    auto first = with({"1004", "1005"});
    auto update = book.observe(check, shifts, {violation, t0, &first, "", 0}, t0);
    REQUIRE(update.notifications.size() == 1);
    CHECK(update.notifications[0].event.offenders["new"] == 2);
    CHECK(update.notifications[0].event.offenders["new_keys"] == nlohmann::ordered_json::array({"1004", "1005"}));

    // The same offenders a minute later: nothing (repeat_interval is 4h).
    update = book.observe(check, shifts, {violation, t0 + 1min, &first, "", 0}, t0 + 1min);
    CHECK(update.notifications.empty());

    // One new offender, and 1004 fixed: the trigger goes again at once, the new one first.
    auto second = with({"1005", "1100"});
    update = book.observe(check, shifts, {violation, t0 + 2min, &second, "", 0}, t0 + 2min);
    REQUIRE(update.notifications.size() == 1);
    const auto& event = update.notifications[0].event;
    CHECK(event.action == notify_action::trigger);
    CHECK(event.offenders["new"] == 1);
    CHECK(event.offenders["persisting"] == 1);
    CHECK(event.offenders["cleared"] == 1);
    CHECK(event.offenders["new_keys"] == nlohmann::ordered_json::array({"1100"}));
    CHECK(event.offenders["oldest_first_seen"] == "2027-01-15T08:00:00.000Z");
    CHECK(event.samples[0]["key"] == "1100");
    CHECK(event.summary == "1 new, 1 persisting, 1 cleared, oldest 2m");
    const auto annotations = nlohmann::json::parse(alertmanager_body(event))[0]["annotations"];
    CHECK(annotations["offenders_new"] == "1");
    CHECK(annotations["offenders_persisting"] == "1");
    CHECK(annotations["offenders_cleared"] == "1");

    // Each sample as a line a person reads, with how long its offender has been wrong.
    REQUIRE(event.sample_lines.size() == 2);
    CHECK(event.sample_lines[1].get<std::string>().rfind("Event ", 0) == 0);  // shift_coverage's rendering
    CHECK(event.sample_lines[1].get<std::string>().ends_with(", since 2m"));  // 1005 first seen at t0
    CHECK(event.sample_lines[0].get<std::string>().ends_with(", since 0s"));  // 1100 is new

    // Without notify_on_new a new offender waits for repeat_interval.
    check.alert.notify_on_new = false;
    auto third = with({"1005", "1100", "1200"});
    update = book.observe(check, shifts, {violation, t0 + 3min, &third, "", 0}, t0 + 3min);
    CHECK(update.notifications.empty());
}
