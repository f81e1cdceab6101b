#pragma once
/// The bytes of /metrics: the Prometheus text format 0.0.4 written from collected families,
/// and a body prepared once per change of the results (README "Metrics", SPEC §11) so that
/// a scrape only copies bytes and appends the process_* families it reads afresh.
#include <prometheus/metric_family.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace invariantd {

/// Appends `families` in the text format. Series are written in label order within each
/// family (prometheus-cpp keeps them in hash order), which makes the output deterministic
/// and lets gzip find each check's name in the series just before it. Numbers are written
/// in their shortest exact form (integers without a fraction).
void write_exposition(std::string& out, const std::vector<prometheus::MetricFamily>& families);

/// Writes `value` as the text format expects: NaN, +Inf, -Inf, integers plainly, everything
/// else in the shortest form that reads back as the same double.
void write_sample_value(std::string& out, double value);

/// A body prepared off the request path: the text, and its gzip form left open so a scrape
/// can append a tail without compressing the body again.
struct prepared_exposition {
    std::string text;
    /// gzip header and the raw deflate stream of `text`, ended by an empty stored block (what
    /// zlib's sync flush writes): byte-aligned and without a final block, so further deflate
    /// blocks may follow.
    std::string gzip_open;
    std::uint32_t text_crc = 0;  ///< CRC-32 of `text`
    int level = 0;               ///< the libdeflate level `gzip_open` was made with
};

/// libdeflate levels: every build compresses at `build_gzip_level` (zlib -9's cost, ~20 %
/// fewer bytes); a body that stays unchanged is compressed again at `polished_gzip_level`
/// (near-optimal parsing: ~27 % fewer bytes than zlib -9, ~5× its time).
inline constexpr int build_gzip_level = 8;
inline constexpr int polished_gzip_level = 11;

prepared_exposition prepare_exposition(std::string text, int level = build_gzip_level);

/// The complete gzip member (RFC 1952) of `prepared.text` + `tail`: a copy of the prepared
/// bytes, `tail` compressed on its own (it cannot refer back into the body, which keeps the
/// stream valid), and the trailer with the CRC of both combined.
std::string finish_gzip(const prepared_exposition& prepared, std::string_view tail);

}  // namespace invariantd
