#include "daemon/core/metrics_exposition.hpp"

#include <libdeflate.h>
#include <sys/mman.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

namespace invariantd {
namespace {

void write_escaped(std::string& out, std::string_view text, bool quote) {
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out += c;
    }
}

void write_series(std::string& out, const std::string& name, std::string_view suffix,
                  const std::vector<prometheus::ClientMetric::Label>& labels, const char* extra_name,
                  double extra_value, double value) {
    out += name;
    out += suffix;
    if (!labels.empty() || extra_name) {
        out += '{';
        bool first = true;
        for (const auto& label : labels) {
            if (!first) out += ',';
            first = false;
            out += label.name;
            out += "=\"";
            write_escaped(out, label.value, true);
            out += '"';
        }
        if (extra_name) {
            if (!first) out += ',';
            out += extra_name;
            out += "=\"";
            write_sample_value(out, extra_value);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    write_sample_value(out, value);
    out += '\n';
}

const char* type_name(prometheus::MetricType type) {
    switch (type) {
        case prometheus::MetricType::Counter:
            return "counter";
        case prometheus::MetricType::Gauge:
            return "gauge";
        case prometheus::MetricType::Summary:
            return "summary";
        case prometheus::MetricType::Histogram:
            return "histogram";
        case prometheus::MetricType::Untyped:
            break;
    }
    return "untyped";
}

bool label_order(const prometheus::ClientMetric* a, const prometheus::ClientMetric* b) {
    return std::lexicographical_compare(
        a->label.begin(), a->label.end(), b->label.begin(), b->label.end(),
        [](const auto& x, const auto& y) { return x.name != y.name ? x.name < y.name : x.value < y.value; });
}

}  // namespace

void write_sample_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buffer[32];
    std::to_chars_result written{};
    if (value == std::trunc(value) && std::fabs(value) < 1e15)
        written = std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(value));
    else
        written = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, written.ptr);
}

void write_exposition(std::string& out, const std::vector<prometheus::MetricFamily>& families) {
    std::vector<const prometheus::ClientMetric*> ordered;
    for (const auto& family : families) {
        if (family.metric.empty()) continue;
        out += "# HELP ";
        out += family.name;
        out += ' ';
        write_escaped(out, family.help, false);
        out += "\n# TYPE ";
        out += family.name;
        out += ' ';
        out += type_name(family.type);
        out += '\n';
        ordered.clear();
        for (const auto& metric : family.metric) ordered.push_back(&metric);
        std::sort(ordered.begin(), ordered.end(), label_order);
        for (const auto* metric : ordered) {
            switch (family.type) {
                case prometheus::MetricType::Counter:
                    write_series(out, family.name, {}, metric->label, nullptr, 0, metric->counter.value);
                    break;
                case prometheus::MetricType::Gauge:
                    write_series(out, family.name, {}, metric->label, nullptr, 0, metric->gauge.value);
                    break;
                case prometheus::MetricType::Untyped:
                    write_series(out, family.name, {}, metric->label, nullptr, 0, metric->untyped.value);
                    break;
                case prometheus::MetricType::Histogram: {
                    const auto& histogram = metric->histogram;
                    for (const auto& bucket : histogram.bucket)
                        write_series(out, family.name, "_bucket", metric->label, "le", bucket.upper_bound,
                                     static_cast<double>(bucket.cumulative_count));
                    // Sums of durations to the microsecond: the float noise of adding many
                    // observations (0.1 + 0.2 = 0.30000000000000004) carries nothing and
                    // costs bytes in every scrape.
                    write_series(out, family.name, "_sum", metric->label, nullptr, 0,
                                 std::round(histogram.sample_sum * 1e6) / 1e6);
                    write_series(out, family.name, "_count", metric->label, nullptr, 0,
                                 static_cast<double>(histogram.sample_count));
                    break;
                }
                case prometheus::MetricType::Summary: {
                    const auto& summary = metric->summary;
                    for (const auto& quantile : summary.quantile)
                        write_series(out, family.name, {}, metric->label, "quantile", quantile.quantile,
                                     quantile.value);
                    write_series(out, family.name, "_sum", metric->label, nullptr, 0, summary.sample_sum);
                    write_series(out, family.name, "_count", metric->label, nullptr, 0,
                                 static_cast<double>(summary.sample_count));
                    break;
                }
            }
        }
    }
}

namespace {

/// Raw deflate (no header) of `data` appended to `out`, ended with `flush`.
void deflate_raw(std::string& out, std::string_view data, int level, int mem_level, int flush) {
    z_stream stream{};
    if (deflateInit2(&stream, level, Z_DEFLATED, -15, mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    const auto start = out.size();
    out.resize(start + deflateBound(&stream, static_cast<uLong>(data.size())) + 16);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + start);
    stream.avail_out = static_cast<uInt>(out.size() - start);
    const int rc = deflate(&stream, flush);
    out.resize(start + stream.total_out);
    deflateEnd(&stream);
    if (rc != (flush == Z_FINISH ? Z_STREAM_END : Z_OK)) throw std::runtime_error("deflate failed");
}

std::uint32_t crc_of(std::string_view data) {
    return static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()),
                                            static_cast<uInt>(data.size())));
}

void put_le32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

/// libdeflate writes a whole raw deflate stream: its last block is marked final, and nothing
/// may follow it. This makes the stream open, as zlib's Z_SYNC_FLUSH leaves one: it clears
/// the final block's BFINAL bit and appends an empty stored block, which ends the stream at
/// a byte boundary without a final block. The final block's header and the stream's last bit
/// are found by inflating block by block (zlib's Z_BLOCK, as zlib's gzappend example does);
/// inflating costs a few milliseconds per megabyte of text, once per build.
void open_deflate_stream(std::string& out, std::size_t start) {
    z_stream inflater{};
    if (inflateInit2(&inflater, -15) != Z_OK) throw std::runtime_error("inflateInit2 failed");
    std::unique_ptr<z_stream, decltype(&inflateEnd)> guard(&inflater, &inflateEnd);
    inflater.next_in = reinterpret_cast<Bytef*>(out.data() + start);
    inflater.avail_in = static_cast<uInt>(out.size() - start);
    std::vector<Bytef> scratch(64 * 1024);
    // data_type: the bits left unread in the last byte taken (low 6 bits), +64 while in the
    // final block, +128 right after an end-of-block code.
    const auto bit_position = [&inflater] {
        return std::uint64_t{inflater.total_in} * 8 - static_cast<std::uint64_t>(inflater.data_type & 0x3f);
    };
    std::uint64_t final_header_bit = 0;  // a raw stream's first block header is its first bit
    std::optional<std::uint64_t> end_bit;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        inflater.next_out = scratch.data();
        inflater.avail_out = static_cast<uInt>(scratch.size());
        rc = inflate(&inflater, Z_BLOCK);
        if (rc != Z_OK && rc != Z_STREAM_END) throw std::runtime_error("the compressed body does not inflate");
        if (rc == Z_OK && (inflater.data_type & 128)) {
            if (inflater.data_type & 64)
                end_bit = bit_position();  // just after the final block's end-of-block code
            else
                final_header_bit = bit_position();  // the next block's header: final unless another follows
        }
    }
    // At Z_STREAM_END data_type no longer counts the unread bits, hence the position above.
    if (!end_bit) throw std::runtime_error("the compressed body has no final block");
    out[start + final_header_bit / 8] =
        static_cast<char>(static_cast<unsigned char>(out[start + final_header_bit / 8]) & ~(1u << (final_header_bit % 8)));
    // The empty stored block: 3 header bits (not final, type 00), zero padding to the byte
    // boundary, then LEN 0 and NLEN 0xffff.
    const auto used_bytes = static_cast<std::size_t>((*end_bit + 7) / 8);
    out.resize(start + used_bytes);
    if (*end_bit % 8 != 0) {
        auto& last = out[start + used_bytes - 1];
        last = static_cast<char>(static_cast<unsigned char>(last) & ((1u << (*end_bit % 8)) - 1));
    }
    out.resize(start + static_cast<std::size_t>((*end_bit + 3 + 7) / 8), '\0');
    out.append("\x00\x00\xff\xff", 4);
}

/// libdeflate's compressors are large (~9 MB at the polished level, for near-optimal
/// parsing) and live for one build. Taken from glibc's malloc, the first one freed raises
/// malloc's mmap threshold to its size, after which every buffer below it — every scrape's
/// body — comes from the arenas and stays resident. Mapped and unmapped here, they never
/// touch malloc's heuristics and their pages go back to the kernel when the build is done.
constexpr std::size_t mapping_header = 16;  // keeps the alignment malloc would give

void* map_pages(std::size_t size) {
    const auto total = size + mapping_header;
    void* base = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return nullptr;
    *static_cast<std::size_t*>(base) = total;
    return static_cast<char*>(base) + mapping_header;
}

void unmap_pages(void* pointer) {
    if (!pointer) return;
    auto* base = static_cast<char*>(pointer) - mapping_header;
    munmap(base, *reinterpret_cast<std::size_t*>(base));
}

}  // namespace

prepared_exposition prepare_exposition(std::string text, int level) {
    static std::once_flag allocator_installed;
    std::call_once(allocator_installed, [] { libdeflate_set_memory_allocator(map_pages, unmap_pages); });
    prepared_exposition prepared;
    // gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    prepared.gzip_open.assign("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    // libdeflate, not zlib: its parser finds ~20 % smaller encodings of these repetitive
    // lines at the same cost (level 8), and ~27 % smaller with near-optimal parsing (11).
    std::unique_ptr<libdeflate_compressor, decltype(&libdeflate_free_compressor)> compressor(
        libdeflate_alloc_compressor(level), &libdeflate_free_compressor);
    if (!compressor) throw std::runtime_error("libdeflate_alloc_compressor failed");
    const auto start = prepared.gzip_open.size();
    prepared.gzip_open.resize(start + libdeflate_deflate_compress_bound(compressor.get(), text.size()));
    const auto written = libdeflate_deflate_compress(compressor.get(), text.data(), text.size(),
                                                     prepared.gzip_open.data() + start,
                                                     prepared.gzip_open.size() - start);
    if (written == 0) throw std::runtime_error("libdeflate_deflate_compress failed");
    prepared.gzip_open.resize(start + written);
    open_deflate_stream(prepared.gzip_open, start);
    prepared.text_crc = crc_of(text);
    prepared.text = std::move(text);
    prepared.level = level;
    return prepared;
}

std::string finish_gzip(const prepared_exposition& prepared, std::string_view tail) {
    std::string out;
    out.reserve(prepared.gzip_open.size() + tail.size() + 64);
    out = prepared.gzip_open;
    // The tail is small (the process_* families): fast level and little memory.
    deflate_raw(out, tail, 1, 1, Z_FINISH);
    const auto crc = crc32_combine(prepared.text_crc, crc_of(tail), static_cast<z_off_t>(tail.size()));
    put_le32(out, static_cast<std::uint32_t>(crc));
    put_le32(out, static_cast<std::uint32_t>((prepared.text.size() + tail.size()) & 0xffffffffu));
    return out;
}

}  // namespace invariantd
