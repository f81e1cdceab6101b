#pragma once
/// Shell-style name patterns for silences and maintenance windows (README "Silences"):
/// `*` matches any run of characters, `?` one character, everything else itself.
#include <string_view>

namespace invariantd {

/// Whether `name` matches `pattern` as a whole. Iterative with one backtrack point, so a
/// pattern of many stars costs O(len(pattern) × len(name)) at worst, never exponential.
inline bool glob_match(std::string_view pattern, std::string_view name) {
    std::size_t p = 0, n = 0;
    std::size_t star = std::string_view::npos, resume = 0;
    while (n < name.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
            ++p;
            ++n;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = n;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            n = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

}  // namespace invariantd
