#include "tools/cli/latency_histogram.h"

#include <random>

#include "gtest/gtest.h"

namespace isergw::cli {
namespace {

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 50; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 25u);
  EXPECT_EQ(h.Percentile(1.0), 50u);
  EXPECT_EQ(h.count(), 50u);
}

TEST(LatencyHistogramTest, PercentilesWithinThreePercentOfExact) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(11.0, 1.0);  // around 60 us
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    uint64_t exact = values[static_cast<size_t>(q * values.size()) - 1];
    double got = static_cast<double>(h.Percentile(q));
    EXPECT_NEAR(got, static_cast<double>(exact), exact * 0.035) << "q=" << q;
    EXPECT_GE(got, static_cast<double>(exact)) << "upper edge must not under-report, q=" << q;
  }
  EXPECT_EQ(h.Percentile(1.0), values.back());
}

TEST(LatencyHistogramTest, MergeAddsCounts) {
  LatencyHistogram a, b;
  a.Record(1000);
  b.Record(3000000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.max(), 3000000u);
  EXPECT_GE(a.Percentile(1.0), 3000000u * 31 / 32);
}

TEST(LatencyHistogramTest, HugeValuesDoNotOverflowTheTable) {
  LatencyHistogram h;
  h.Record(UINT64_MAX);
  h.Record(uint64_t{1} << 40);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.Percentile(1.0), UINT64_MAX);
}

}  // namespace
}  // namespace isergw::cli
