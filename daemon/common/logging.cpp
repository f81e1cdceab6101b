#include "daemon/common/logging.hpp"

#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include "daemon/common/asio.hpp"
#include "daemon/common/secrets.hpp"
#include "daemon/common/time_format.hpp"

namespace invariantd {
namespace {

/// Writes to stderr after masking known secrets; in json mode builds the object itself so
/// that the message is escaped correctly whatever it contains.
class redacting_stderr_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit redacting_stderr_sink(bool json) : json_(json) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string payload =
            secret_registry::global().redact(std::string_view(msg.payload.data(), msg.payload.size()));
        std::string line;
        if (json_) {
            nlohmann::json object{
                {"ts", format_rfc3339(msg.time)},
                {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                      spdlog::level::to_string_view(msg.level).size())},
                {"msg", payload},
            };
            line = object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            line += '\n';
        } else {
            spdlog::memory_buf_t formatted;
            spdlog::details::log_msg copy(msg);
            copy.payload = payload;
            formatter_->format(copy, formatted);
            line.assign(formatted.data(), formatted.size());
        }
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }

private:
    bool json_;
};

}  // namespace

void configure_logging(std::string_view level, std::string_view format) {
    auto sink = std::make_shared<redacting_stderr_sink>(format == "json");
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %v",
                                                                    spdlog::pattern_time_type::utc));
    auto logger = std::make_shared<spdlog::logger>("invariantd", std::move(sink));
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

void log_escaped_exception::operator()(std::exception_ptr error) const {
    if (!error) return;
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::error("internal error in {}: {}", what, e.what());
    } catch (...) {
        spdlog::error("internal error in {}: unknown exception", what);
    }
}

}  // namespace invariantd
