// Number renderings and the prepared /metrics body.
//  - write_sample_value (the exposition) and format_plain_number (summaries, SPEC §7) read
//    back as exactly the same double; NaN and the infinities are spelled NaN, +Inf, -Inf.
//  - every filter and format renders without throwing, and parse_summary_filter accepts
//    only what it can apply.
//  - the gzip body of /metrics (prepared part + per-scrape tail, CRCs combined) inflates to
//    exactly text + tail.
// Input: 8 bytes of a double, 1 byte of round digits, then text split at the first NUL into
// a filter/body text and a tail.
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/common/value_format.hpp"
#include "daemon/core/metrics_exposition.hpp"

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

void check_reads_back(const std::string& text, double value) {
    if (std::isnan(value)) return require(text == "NaN");
    if (std::isinf(value)) return require(text == (value > 0 ? "+Inf" : "-Inf"));
    char* end = nullptr;
    const double parsed = std::strtod(text.c_str(), &end);
    require(end == text.c_str() + text.size());
    require(parsed == value);
}

std::string gunzip(const std::string& body) {
    z_stream stream{};
    require(inflateInit2(&stream, 16 + MAX_WBITS) == Z_OK);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
    stream.avail_in = static_cast<uInt>(body.size());
    std::string out;
    char chunk[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        stream.next_out = reinterpret_cast<Bytef*>(chunk);
        stream.avail_out = sizeof chunk;
        rc = inflate(&stream, Z_NO_FLUSH);
        out.append(chunk, sizeof chunk - stream.avail_out);
    }
    require(rc == Z_STREAM_END && stream.avail_in == 0);  // one whole member, CRC and size checked by zlib
    inflateEnd(&stream);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace invariantd;
    if (size < 9) return 0;
    double value = 0;
    std::memcpy(&value, data, sizeof value);
    const int digits = data[8] % 13;
    const std::string rest(reinterpret_cast<const char*>(data + 9), size - 9);

    std::string sample;
    write_sample_value(sample, value);
    check_reads_back(sample, value);
    check_reads_back(format_plain_number(value), value);

    for (auto format : {value_format::number, value_format::percent, value_format::percent100, value_format::elapsed})
        require(!format_value(value, format).empty());
    require(!format_rounded(value, digits).empty());
    const auto filter_text = rest.substr(0, rest.find('\0'));
    if (auto filter = parse_summary_filter(filter_text)) {
        require(!apply_filter(value, *filter).empty());
        if (filter->what == summary_filter::kind::round) require(filter->digits >= 0 && filter->digits <= 12);
    }
    (void)summary_filter_error(filter_text);

    const auto split = rest.find('\0');
    const std::string text = rest.substr(0, split);
    const std::string tail = split == std::string::npos ? std::string() : rest.substr(split + 1);
    const auto prepared = prepare_exposition(text);
    require(gunzip(finish_gzip(prepared, tail)) == text + tail);
    return 0;
}
