#include "daemon/common/time_zone.hpp"

#include <date/tz.h>

namespace invariantd {

bool known_time_zone(const std::string& name) {
    try {
        return date::locate_zone(name) != nullptr;
    } catch (const std::exception&) {
        return false;
    }
}

std::chrono::system_clock::time_point local_to_utc(const std::string& zone, std::chrono::sys_days local_day,
                                                   std::chrono::minutes time_of_day) {
    const auto* tz = date::locate_zone(zone);
    const date::local_time<std::chrono::minutes> local{
        std::chrono::duration_cast<std::chrono::minutes>(local_day.time_since_epoch()) + time_of_day};
    // choose::earliest: the first of two occurrences; for a time in a gap the library answers
    // the transition instant, which is the gap's end.
    return tz->to_sys(local, date::choose::earliest);
}

std::chrono::sys_days local_day_of(const std::string& zone, std::chrono::system_clock::time_point when) {
    const auto* tz = date::locate_zone(zone);
    const auto local = tz->to_local(when);
    return std::chrono::sys_days(
        std::chrono::duration_cast<std::chrono::days>(date::floor<date::days>(local).time_since_epoch()));
}

}  // namespace invariantd
