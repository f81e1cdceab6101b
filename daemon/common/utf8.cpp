#include "daemon/common/utf8.hpp"

#include <cstdint>

namespace invariantd {

namespace {

/// Length of the valid UTF-8 sequence at `text[i]`, 0 when it is not one.
std::size_t sequence_length(std::string_view text, std::size_t i) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool ok = length > 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(text[i + k]) >> 6) == 0x2;
    if (ok && length > 1) {
        // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
        std::uint32_t code = c & (0xFF >> (length + 1));
        for (std::size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        const std::uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
        ok = code >= minimum[length] && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF);
    }
    return ok ? length : 0;
}

}  // namespace

std::string valid_utf8(std::string_view text) {
    // Nearly all text is valid: one scan, then one copy; the rebuild only past a bad byte.
    std::size_t valid = 0;
    while (valid < text.size()) {
        const std::size_t length = sequence_length(text, valid);
        if (length == 0) break;
        valid += length;
    }
    if (valid == text.size()) return std::string(text);
    std::string out(text.substr(0, valid));
    out.reserve(text.size() + 2);
    std::size_t i = valid;
    while (i < text.size()) {
        const std::size_t length = sequence_length(text, i);
        if (length > 0) {
            out.append(text.substr(i, length));
            i += length;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

}  // namespace invariantd
