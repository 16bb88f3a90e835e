#include "ublk/io_stats.h"

#include <algorithm>
#include <cmath>

namespace isergw::ublk {

uint64_t LatencyBuckets::UpperEdge(int index) {
  if (index < kLinear) return static_cast<uint64_t>(index);
  const int rel = index - kLinear;
  const int shift = rel / (1 << kSubBits) + 1;
  const uint64_t sub = static_cast<uint64_t>(rel % (1 << kSubBits));
  const uint64_t base = ((uint64_t{1} << kSubBits) | sub) << shift;
  return base + (uint64_t{1} << shift) - 1;
}

uint64_t IoStatsSnapshot::completed() const {
  uint64_t total = 0;
  for (uint64_t n : ops) total += n;
  return total;
}

void IoStatsSnapshot::Merge(const IoStatsSnapshot& other) {
  for (int i = 0; i < kIoOpCount; ++i) ops[i] += other.ops[i];
  bytes_read += other.bytes_read;
  bytes_written += other.bytes_written;
  errors += other.errors;
  in_flight += other.in_flight;
  for (int i = 0; i < LatencyBuckets::kCount; ++i) latency_us[i] += other.latency_us[i];
}

IoStatsSnapshot IoStatsSnapshot::Since(const IoStatsSnapshot& earlier) const {
  IoStatsSnapshot delta = *this;
  for (int i = 0; i < kIoOpCount; ++i) delta.ops[i] -= earlier.ops[i];
  delta.bytes_read -= earlier.bytes_read;
  delta.bytes_written -= earlier.bytes_written;
  delta.errors -= earlier.errors;
  for (int i = 0; i < LatencyBuckets::kCount; ++i) delta.latency_us[i] -= earlier.latency_us[i];
  return delta;
}

uint64_t IoStatsSnapshot::LatencyPercentileUs(double quantile) const {
  uint64_t count = 0;
  for (uint64_t n : latency_us) count += n;
  if (count == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count))));
  uint64_t seen = 0;
  for (int i = 0; i < LatencyBuckets::kCount; ++i) {
    seen += latency_us[i];
    if (seen >= rank) return LatencyBuckets::UpperEdge(i);
  }
  return LatencyBuckets::UpperEdge(LatencyBuckets::kCount - 1);
}

IoStatsSnapshot IoStats::Snapshot() const {
  IoStatsSnapshot s;
  for (int i = 0; i < kIoOpCount; ++i) s.ops[i] = ops_[i].load(std::memory_order_relaxed);
  s.bytes_read = bytes_read_.load(std::memory_order_relaxed);
  s.bytes_written = bytes_written_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  s.in_flight = in_flight_.load(std::memory_order_relaxed);
  for (int i = 0; i < LatencyBuckets::kCount; ++i) {
    s.latency_us[i] = latency_us_[i].load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace isergw::ublk
