#pragma once
/// IANA time zones over the system's tzdata (/usr/share/zoneinfo, through Howard Hinnant's
/// date library as Debian packages it), for maintenance windows (README "Maintenance windows").
#include <chrono>
#include <string>

namespace invariantd {

/// Whether the system's tzdata knows `name` ("Europe/Berlin", "UTC").
bool known_time_zone(const std::string& name);

/// The instant at which the wall clocks of `zone` show `time_of_day` on the local calendar
/// day `local_day` (a day count like sys_days, read as a local date). A time that does not
/// exist there (the spring-forward gap) maps to the gap's end; one that occurs twice (autumn)
/// to its first occurrence. `zone` must be known.
std::chrono::system_clock::time_point local_to_utc(const std::string& zone, std::chrono::sys_days local_day,
                                                   std::chrono::minutes time_of_day);

/// The local calendar day in `zone` at `when`, as a day count (see local_to_utc).
std::chrono::sys_days local_day_of(const std::string& zone, std::chrono::system_clock::time_point when);

}  // namespace invariantd
