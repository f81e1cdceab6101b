#include "tests/support/browser.hpp"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace invariantd::test {
namespace {

std::vector<std::string> chromium_command(const std::string& work_dir, int width, int height) {
    const char* binary = std::getenv("INVARIANTD_CHROMIUM");
    // `timeout` bounds a hung browser; the flags keep Chromium from dialling out of a closed
    // network (it would otherwise retry Google's hosts for the whole run).
    return {"timeout",
            "90",
            binary != nullptr ? binary : "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--user-data-dir=" + work_dir + "/chromium-profile",
            "--window-size=" + std::to_string(width) + "," + std::to_string(height)};
}

std::uint32_t be32(const std::string& data, std::size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(data.data() + at);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

int paeth(int a, int b, int c) {
    const int p = a + b - c;
    const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

}  // namespace

page_capture capture_page(const std::string& url, const std::string& work_dir, const std::string& screenshot_png, int width,
                          int height) {
    page_capture capture;
    auto dump = chromium_command(work_dir, width, height);
    dump.push_back("--dump-dom");
    dump.push_back(url);
    const auto dumped = run_command(dump);
    capture.exit_code = dumped.exit_code;
    capture.dom = dumped.out;
    capture.log = dumped.err;
    if (!screenshot_png.empty() && capture.exit_code == 0) {
        auto shot = chromium_command(work_dir, width, height);
        shot.push_back("--screenshot=" + screenshot_png);
        shot.push_back(url);
        const auto taken = run_command(shot);
        capture.exit_code = taken.exit_code;
        capture.log += taken.err;
    }
    return capture;
}

std::size_t rgb_image::count(std::uint32_t colour) const {
    const std::uint8_t r = (colour >> 16) & 0xff, g = (colour >> 8) & 0xff, b = colour & 0xff;
    std::size_t n = 0;
    for (std::size_t i = 0; i + 2 < rgb.size(); i += 3) n += (rgb[i] == r && rgb[i + 1] == g && rgb[i + 2] == b);
    return n;
}

rgb_image read_png(const std::string& path) {
    const std::string data = read_file(path);
    if (data.size() < 8 || std::memcmp(data.data(), "\x89PNG\r\n\x1a\n", 8) != 0) throw std::runtime_error(path + ": not a PNG");
    rgb_image image;
    int colour_type = -1;
    std::string compressed;
    for (std::size_t at = 8; at + 12 <= data.size();) {
        const std::uint32_t length = be32(data, at);
        const std::string type = data.substr(at + 4, 4);
        if (type == "IHDR") {
            image.width = static_cast<int>(be32(data, at + 8));
            image.height = static_cast<int>(be32(data, at + 12));
            const int depth = static_cast<unsigned char>(data[at + 16]);
            colour_type = static_cast<unsigned char>(data[at + 17]);
            const int interlace = static_cast<unsigned char>(data[at + 20]);
            if (depth != 8 || (colour_type != 2 && colour_type != 6) || interlace != 0)
                throw std::runtime_error(path + ": only 8-bit non-interlaced RGB/RGBA PNGs are read");
        } else if (type == "IDAT") {
            compressed += data.substr(at + 8, length);
        } else if (type == "IEND") {
            break;
        }
        at += 12 + length;
    }
    const std::size_t channels = colour_type == 6 ? 4 : 3;
    const std::size_t stride = static_cast<std::size_t>(image.width) * channels;
    std::string raw((stride + 1) * static_cast<std::size_t>(image.height), '\0');
    uLongf raw_size = static_cast<uLongf>(raw.size());
    if (uncompress(reinterpret_cast<Bytef*>(raw.data()), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                   static_cast<uLong>(compressed.size())) != Z_OK ||
        raw_size != raw.size())
        throw std::runtime_error(path + ": bad image data");

    std::vector<std::uint8_t> previous(stride, 0), row(stride);
    image.rgb.reserve(static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3);
    for (int y = 0; y < image.height; ++y) {
        const auto* line = reinterpret_cast<const std::uint8_t*>(raw.data()) + static_cast<std::size_t>(y) * (stride + 1);
        const int filter = line[0];
        for (std::size_t x = 0; x < stride; ++x) {
            const int left = x >= channels ? row[x - channels] : 0;
            const int up = previous[x];
            const int up_left = x >= channels ? previous[x - channels] : 0;
            int predictor = 0;
            switch (filter) {
                case 0: predictor = 0; break;
                case 1: predictor = left; break;
                case 2: predictor = up; break;
                case 3: predictor = (left + up) / 2; break;
                case 4: predictor = paeth(left, up, up_left); break;
                default: throw std::runtime_error(path + ": bad PNG filter");
            }
            row[x] = static_cast<std::uint8_t>(line[1 + x] + predictor);
        }
        for (std::size_t x = 0; x < stride; x += channels) image.rgb.insert(image.rgb.end(), {row[x], row[x + 1], row[x + 2]});
        previous.swap(row);
    }
    return image;
}

}  // namespace invariantd::test
