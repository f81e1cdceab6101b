#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace invariantd {

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely
/// typo (distance ≤ 2, or ≤ 1/3 of the word's length for long words). Used for
/// "unknown key 'intervall' (did you mean 'interval'?)".
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// " (did you mean 'x'?)" when closest_match finds a candidate, "" otherwise: the suffix every
/// "unknown ..." message carries.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace invariantd
