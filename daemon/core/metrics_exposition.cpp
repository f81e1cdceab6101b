#include "daemon/core/metrics_exposition.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

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

}  // namespace

prepared_exposition prepare_exposition(std::string text) {
    prepared_exposition prepared;
    // gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
    prepared.gzip_open.assign("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
    // The best level: built once per change off the loop, sent with every scrape.
    deflate_raw(prepared.gzip_open, text, Z_BEST_COMPRESSION, 9, Z_SYNC_FLUSH);
    prepared.text_crc = crc_of(text);
    prepared.text = std::move(text);
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
