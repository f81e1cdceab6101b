#include <catch2/catch.hpp>

#include "daemon/alerting/alert_tracker.hpp"

using namespace invariantd;
using namespace std::chrono_literals;

TEST_CASE("without 'for' a true condition fires at once and a false one resolves", "[alert]") {
    alert_tracker tracker;
    const auto t0 = system_clock::now();
    CHECK(tracker.state() == alert_state::ok);
    tracker.observe(true, t0, duration(0));
    CHECK(tracker.state() == alert_state::firing);
    CHECK(tracker.active_since() == t0);
    tracker.observe(false, t0 + 1min, duration(0));
    CHECK(tracker.state() == alert_state::ok);
    CHECK_FALSE(tracker.active_since().has_value());
}

TEST_CASE("'for' keeps an alert pending until the condition held long enough", "[alert]") {
    alert_tracker tracker;
    const auto t0 = system_clock::now();
    const duration for_duration = 10min;
    tracker.observe(true, t0, for_duration);
    CHECK(tracker.state() == alert_state::pending);
    tracker.observe(true, t0 + 9min, for_duration);
    CHECK(tracker.state() == alert_state::pending);
    tracker.observe(true, t0 + 10min, for_duration);
    CHECK(tracker.state() == alert_state::firing);
    CHECK(tracker.active_since() == t0);
}

TEST_CASE("a pending alert whose condition clears starts over", "[alert]") {
    alert_tracker tracker;
    const auto t0 = system_clock::now();
    tracker.observe(true, t0, 10min);
    tracker.observe(false, t0 + 5min, 10min);
    CHECK(tracker.state() == alert_state::ok);
    tracker.observe(true, t0 + 6min, 10min);
    tracker.observe(true, t0 + 12min, 10min);
    CHECK(tracker.state() == alert_state::pending);  // the clock restarted at 6 min
    tracker.observe(true, t0 + 16min, 10min);
    CHECK(tracker.state() == alert_state::firing);
}
