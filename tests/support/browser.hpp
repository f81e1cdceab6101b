#pragma once
/// Debian's real Chromium, headless, for page tests: the DOM after parsing and a screenshot,
/// and a small PNG reader so a test can ask what colours were actually rendered.
#include <cstdint>
#include <string>
#include <vector>

namespace invariantd::test {

struct page_capture {
    int exit_code = -1;
    std::string dom;  ///< document.documentElement.outerHTML as Chromium serialises it
    std::string log;  ///< Chromium's stderr, for failure messages
};

/// Loads `url` in a fresh profile (under `work_dir`) with the flags this sandbox needs
/// (no sandbox, no GPU, no background networking) and returns the serialised DOM; when
/// `screenshot_png` is set, also renders a `width`x`height` screenshot to that file.
page_capture capture_page(const std::string& url, const std::string& work_dir, const std::string& screenshot_png = {},
                          int width = 1400, int height = 900);

struct rgb_image {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgb;  ///< width*height*3, row-major
    /// Pixels whose colour is exactly 0xRRGGBB.
    std::size_t count(std::uint32_t colour) const;
};

/// Reads an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes). Throws otherwise.
rgb_image read_png(const std::string& path);

}  // namespace invariantd::test
