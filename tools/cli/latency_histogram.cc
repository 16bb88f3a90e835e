#include "tools/cli/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace isergw::cli {

uint64_t LatencyHistogram::UpperEdge(int index) {
  if (index < kLinear) return static_cast<uint64_t>(index);
  int rel = index - kLinear;
  int shift = rel / (1 << kSubBits) + 1;
  uint64_t sub = static_cast<uint64_t>(rel % (1 << kSubBits));
  uint64_t base = (uint64_t{1} << kSubBits | sub) << shift;
  return base + (uint64_t{1} << shift) - 1;
}

uint64_t LatencyHistogram::Percentile(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  uint64_t rank = static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_)));
  rank = std::max<uint64_t>(rank, 1);
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(UpperEdge(i), max_);
  }
  return max_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

}  // namespace isergw::cli
