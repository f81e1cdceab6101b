#include "daemon/core/process_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace invariantd {
namespace {

prometheus::MetricFamily single(const char* name, const char* help, prometheus::MetricType type, double value) {
    prometheus::MetricFamily family{name, help, type, {}};
    prometheus::ClientMetric metric;
    if (type == prometheus::MetricType::Counter) metric.counter.value = value;
    else metric.gauge.value = value;
    family.metric.push_back(metric);
    return family;
}

/// Fields of /proc/self/stat after the command name (which may contain spaces).
std::vector<std::string> stat_fields() {
    std::ifstream in("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = content.rfind(')');
    std::vector<std::string> fields;
    if (close == std::string::npos) return fields;
    std::istringstream rest(content.substr(close + 2));
    for (std::string field; rest >> field;) fields.push_back(field);
    return fields;  // fields[0] is "state" (field 3 in proc(5))
}

double boot_time_seconds() {
    std::ifstream in("/proc/stat");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
    }
    return 0;
}

}  // namespace

process_collector::process_collector() {
    const auto fields = stat_fields();
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    // proc(5) field 22 is starttime in clock ticks since boot → index 19 here.
    if (fields.size() > 19) start_time_seconds_ = boot_time_seconds() + std::stod(fields[19]) / ticks;
}

std::vector<prometheus::MetricFamily> process_collector::Collect() const {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> families;
    const auto fields = stat_fields();
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
    if (fields.size() > 21) {
        // utime (14) and stime (15) → indexes 11, 12; vsize (23) → 20; rss pages (24) → 21.
        const double cpu = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
        families.push_back(single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                                  MetricType::Counter, cpu));
        families.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                                  std::stod(fields[20])));
        families.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.",
                                  MetricType::Gauge, std::stod(fields[21]) * page_size));
    }
    std::error_code ec;
    double open_fds = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++open_fds;
    }
    families.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, open_fds));
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        families.push_back(single("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                                  static_cast<double>(limit.rlim_cur)));
    }
    families.push_back(single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                              MetricType::Gauge, start_time_seconds_));
    return families;
}

}  // namespace invariantd
