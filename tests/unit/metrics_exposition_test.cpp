#include "daemon/core/metrics_exposition.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>

#include "daemon/core/metrics.hpp"
#include "daemon/core/metrics_publisher.hpp"

using namespace invariantd;

namespace {

std::string value_text(double value) {
    std::string out;
    write_sample_value(out, value);
    return out;
}

/// Inflates a complete gzip member; throws when the stream or its trailer (CRC, length) is wrong.
std::string gunzip(const std::string& data) {
    z_stream stream{};
    REQUIRE(inflateInit2(&stream, 15 + 16) == Z_OK);
    std::string out(1 << 20, '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    const auto consumed = data.size() - stream.avail_in;
    inflateEnd(&stream);
    if (rc != Z_STREAM_END) throw std::runtime_error("gzip stream incomplete or damaged");
    if (consumed != data.size()) throw std::runtime_error("bytes after the gzip member");
    return out;
}

}  // namespace

TEST_CASE("sample values in their shortest exact form", "[metrics][exposition]") {
    CHECK(value_text(0) == "0");
    CHECK(value_text(6) == "6");
    CHECK(value_text(-3) == "-3");
    CHECK(value_text(0.5) == "0.5");
    CHECK(value_text(0.1 + 0.2) == "0.30000000000000004");  // exact: reads back as the same double
    CHECK(value_text(1796077210.585) == "1796077210.585");
    CHECK(value_text(1e20) == "1e+20");
    CHECK(value_text(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(value_text(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(value_text(-std::numeric_limits<double>::infinity()) == "-Inf");
}

TEST_CASE("series are written in label order with escaped label values and help", "[metrics][exposition]") {
    prometheus::MetricFamily family;
    family.name = "x_total";
    family.help = "a \\ b\nc";
    family.type = prometheus::MetricType::Counter;
    for (const char* check : {"b", "a\"q", "a"}) {
        prometheus::ClientMetric metric;
        metric.label = {{"check", check}};
        metric.counter.value = 2;
        family.metric.push_back(metric);
    }
    std::string out;
    write_exposition(out, {family});
    CHECK(out ==
          "# HELP x_total a \\\\ b\\nc\n# TYPE x_total counter\n"
          "x_total{check=\"a\"} 2\nx_total{check=\"a\\\"q\"} 2\nx_total{check=\"b\"} 2\n");
}

TEST_CASE("a histogram is written as buckets, +Inf, sum to the microsecond and count",
          "[metrics][exposition]") {
    daemon_metrics metrics("1", "r");
    metrics.add_check("c", "sql", "d");
    checks::check_result result;
    result.started = system_clock::now();
    for (double seconds : {0.1, 0.2, 0.0000004}) {
        result.duration_seconds = seconds;
        metrics.record_run("c", result, run_outcome::ok);
    }
    const auto text = metrics.serialize();
    CHECK(text.find("invariantd_check_duration_seconds_bucket{check=\"c\",le=\"0.01\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("invariantd_check_duration_seconds_bucket{check=\"c\",le=\"1\"} 3\n") !=
          std::string::npos);
    CHECK(text.find("invariantd_check_duration_seconds_bucket{check=\"c\",le=\"+Inf\"} 3\n") !=
          std::string::npos);
    CHECK(text.find("invariantd_check_duration_seconds_sum{check=\"c\"} 0.3\n") != std::string::npos);
    CHECK(text.find("invariantd_check_duration_seconds_count{check=\"c\"} 3\n") != std::string::npos);
    // The default: four bounds, so seven series per check.
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = text.find("invariantd_check_duration_seconds_", at)) != std::string::npos;
         ++at)
        ++lines;
    CHECK(lines == 7);

    metrics.set_duration_buckets({0.5, 2});
    const auto rebuilt = metrics.serialize();
    CHECK(rebuilt.find("le=\"0.5\"} 0\n") != std::string::npos);
    CHECK(rebuilt.find("le=\"0.01\"") == std::string::npos);
}

TEST_CASE("the prepared gzip body plus a tail is one valid gzip member of both", "[metrics][exposition]") {
    std::string body;
    for (int i = 0; i < 2000; ++i) body += "invariantd_check_up{check=\"c_" + std::to_string(i) + "\"} 1\n";
    const auto prepared = prepare_exposition(body);
    CHECK(prepared.text == body);
    const std::string tail = "process_open_fds 12\nprocess_resident_memory_bytes 1.2e+07\n";
    CHECK(gunzip(finish_gzip(prepared, tail)) == body + tail);
    CHECK(gunzip(finish_gzip(prepared, "")) == body);
    CHECK(gunzip(finish_gzip(prepare_exposition(""), tail)) == tail);
    // Compressed once: the prepared part is reused byte for byte by every scrape.
    const auto scrape = finish_gzip(prepared, tail);
    CHECK(scrape.compare(0, prepared.gzip_open.size(), prepared.gzip_open) == 0);
}

TEST_CASE("the prepared body stays open whatever libdeflate's last block is", "[metrics][exposition]") {
    // Several deflate blocks (libdeflate ends one every few hundred KB), and bodies whose last
    // block is a stored one (incompressible bytes) or a tiny one: the final bit must be
    // cleared on the last block, not on the first, and the tail must follow it.
    std::string lines;
    for (int i = 0; i < 12000; ++i)
        lines += "invariantd_check_runs_total{check=\"q_" + std::to_string(i) + "\",outcome=\"ok\"} " +
                 std::to_string(i * 7 % 13) + "\n";
    std::string noise;
    std::uint32_t state = 12345;
    for (int i = 0; i < 70000; ++i) {
        state = state * 1103515245u + 12345u;
        noise += static_cast<char>(state >> 24);
    }
    const std::string tail = "process_open_fds 12\n";
    for (const auto& body : {lines, lines + noise, noise + lines, std::string("x"), lines + "y"}) {
        for (const int level : {build_gzip_level, polished_gzip_level}) {
            INFO("body of " << body.size() << " bytes, level " << level);
            const auto prepared = prepare_exposition(body, level);
            CHECK(prepared.level == level);
            CHECK(gunzip(finish_gzip(prepared, tail)) == body + tail);
        }
    }
    // Polishing is worth its time on the real shape of the text.
    CHECK(prepare_exposition(lines, polished_gzip_level).gzip_open.size() <
          prepare_exposition(lines, build_gzip_level).gzip_open.size());
}

TEST_CASE("only real changes move the generation the prepared body follows", "[metrics][exposition]") {
    daemon_metrics metrics("1", "r");
    int hooks = 0;
    metrics.on_change([&] { ++hooks; });
    metrics.add_check("c", "sql", "d");
    metrics.add_database("d");
    const auto before = metrics.generation();
    metrics.set_check_silenced("c", false);  // already 0
    metrics.set_database_connections("d", 0, 0);
    metrics.set_database_up("d", true);
    CHECK(metrics.generation() == before);
    metrics.set_check_silenced("c", true);
    CHECK(metrics.generation() == before + 1);
    metrics.set_database_connections("d", 1, 0);
    CHECK(metrics.generation() == before + 2);
    checks::check_result result;
    result.started = system_clock::now();
    metrics.record_run("c", result, run_outcome::ok);
    CHECK(metrics.generation() == before + 3);
    CHECK(hooks == static_cast<int>(metrics.generation()));
}

TEST_CASE("a body that stays unchanged for a spacing is served compressed again, smaller", "[metrics][exposition]") {
    asio::io_context loop;
    daemon_metrics metrics("1", "r");
    // Past the size up to which a scrape waits for a fresh build: current() serves body_.
    for (int i = 0; i < 400; ++i) metrics.add_check("q_" + std::to_string(i), "sql", "d");
    metrics_publisher publisher(loop.get_executor(), metrics, nullptr, std::chrono::milliseconds(50));
    metrics.on_change([&] { publisher.changed(); });
    publisher.start();
    std::shared_ptr<const prepared_exposition> built, polished, changed;
    auto scenario = [&]() -> asio::awaitable<void> {
        built = co_await publisher.fresh();
        const auto deadline = steady_clock::now() + std::chrono::seconds(30);
        asio::steady_timer pause(loop);
        for (;;) {
            polished = co_await publisher.current();
            if (polished->level == polished_gzip_level || steady_clock::now() > deadline) break;
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(asio::use_awaitable);
        }
        metrics.set_check_silenced("q_7", true);
        changed = co_await publisher.fresh();
        publisher.stop();
    };
    auto done = asio::co_spawn(loop, scenario(), asio::use_future);
    loop.run();
    done.get();
    REQUIRE(built->text.size() > 256 * 1024);
    CHECK(built->level == build_gzip_level);
    REQUIRE(polished->level == polished_gzip_level);
    CHECK(polished->text == built->text);
    CHECK(polished->gzip_open.size() < built->gzip_open.size());
    CHECK(gunzip(finish_gzip(*polished, "")) == built->text);
    // A change is served at once, at the build level again.
    CHECK(changed->level == build_gzip_level);
    CHECK(changed->text.find("invariantd_check_silenced{check=\"q_7\"} 1\n") != std::string::npos);
}
