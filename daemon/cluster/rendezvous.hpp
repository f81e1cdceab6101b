#pragma once
/// Rendezvous (highest random weight) hashing of check instances onto cluster members
/// (SPEC §12). The score is fixed by the SPEC so that every version agrees during a rolling
/// upgrade: the first 8 bytes of SHA-256(member ‖ 0x00 ‖ instance) read as a big-endian
/// unsigned integer; the highest score wins, ties go to the smaller member name. A member
/// joining or leaving moves only the instances it wins or held.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invariantd::cluster {

std::uint64_t rendezvous_score(std::string_view member, std::string_view instance);

/// The owner of `instance` among `members` (any order); nullopt when there is none.
std::optional<std::string> rendezvous_owner(const std::vector<std::string>& members,
                                            std::string_view instance);

}  // namespace invariantd::cluster
