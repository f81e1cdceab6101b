#pragma once
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace invariantd {

/// The standard process_* metrics (resident and virtual memory, CPU seconds, open and max
/// file descriptors, start time), read from /proc/self at scrape time. prometheus-cpp has
/// no process collector of its own. Thread-safe: every Collect() reads /proc afresh.
class process_collector final : public prometheus::Collectable {
public:
    process_collector();
    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    double start_time_seconds_ = 0;
};

}  // namespace invariantd
