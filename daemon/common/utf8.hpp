#pragma once
#include <string>
#include <string_view>

namespace invariantd {

/// `text` with every byte that does not start a valid UTF-8 sequence (stray continuation
/// bytes, truncated, overlong or surrogate forms, code points past U+10FFFF) replaced by
/// U+FFFD. Database text enters the daemon through this (drivers), so JSON, label values,
/// keys and pages can never meet invalid UTF-8.
std::string valid_utf8(std::string_view text);

}  // namespace invariantd
