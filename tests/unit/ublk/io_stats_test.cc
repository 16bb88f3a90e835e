#include "ublk/io_stats.h"

#include <gtest/gtest.h>

#include <thread>

namespace isergw::ublk {
namespace {

TEST(LatencyBucketsTest, BucketEdgesBoundTheirValues) {
  for (uint64_t us : {0ull, 1ull, 15ull, 16ull, 17ull, 100ull, 1000ull, 123456ull, 1ull << 39}) {
    const int index = LatencyBuckets::Index(us);
    ASSERT_LT(index, LatencyBuckets::kCount);
    EXPECT_GE(LatencyBuckets::UpperEdge(index), us) << us;
    if (index > 0) {
      EXPECT_LT(LatencyBuckets::UpperEdge(index - 1), us) << us;
    }
    // Within one eighth above the true value.
    EXPECT_LE(LatencyBuckets::UpperEdge(index), us + us / 8 + 1) << us;
  }
  // Beyond the range, the last bucket.
  EXPECT_EQ(LatencyBuckets::Index(~0ull), LatencyBuckets::kCount - 1);
}

TEST(IoStatsTest, CountsOpsBytesErrorsAndInFlight) {
  IoStats stats;
  stats.OnStart();
  stats.OnStart();
  stats.OnStart();
  stats.OnComplete(IoOp::kRead, 4096, 4096, 50);
  stats.OnComplete(IoOp::kWrite, 8192, 8192, 100);
  IoStatsSnapshot s = stats.Snapshot();
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.ops[static_cast<int>(IoOp::kRead)], 1u);
  EXPECT_EQ(s.ops[static_cast<int>(IoOp::kWrite)], 1u);
  EXPECT_EQ(s.bytes_read, 4096u);
  EXPECT_EQ(s.bytes_written, 8192u);
  EXPECT_EQ(s.errors, 0u);
  stats.OnComplete(IoOp::kWrite, 4096, -5, 7);
  s = stats.Snapshot();
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.bytes_written, 8192u) << "a failed write moved no bytes";
  EXPECT_EQ(s.completed(), 3u);
}

TEST(IoStatsTest, PercentilesAndIntervals) {
  IoStats stats;
  for (int i = 0; i < 90; ++i) {
    stats.OnStart();
    stats.OnComplete(IoOp::kRead, 512, 512, 100);
  }
  IoStatsSnapshot first = stats.Snapshot();
  for (int i = 0; i < 10; ++i) {
    stats.OnStart();
    stats.OnComplete(IoOp::kRead, 512, 512, 10000);
  }
  IoStatsSnapshot second = stats.Snapshot();
  EXPECT_NEAR(second.LatencyPercentileUs(0.5), 100, 13);
  EXPECT_NEAR(second.LatencyPercentileUs(0.95), 10000, 1250);
  IoStatsSnapshot interval = second.Since(first);
  EXPECT_EQ(interval.completed(), 10u);
  EXPECT_EQ(interval.bytes_read, 5120u);
  EXPECT_NEAR(interval.LatencyPercentileUs(0.5), 10000, 1250);
  EXPECT_EQ(IoStatsSnapshot{}.LatencyPercentileUs(0.99), 0u);

  IoStatsSnapshot merged = first;
  merged.Merge(interval);
  EXPECT_EQ(merged.completed(), second.completed());
  EXPECT_EQ(merged.LatencyPercentileUs(0.99), second.LatencyPercentileUs(0.99));
}

// One writer thread, one reader: the reader never sees a count go down.
TEST(IoStatsTest, ReaderSeesMonotonicCountsWhileTheQueueWrites) {
  IoStats stats;
  constexpr int kOps = 200000;
  std::thread writer([&] {
    for (int i = 0; i < kOps; ++i) {
      stats.OnStart();
      stats.OnComplete(IoOp::kWrite, 4096, 4096, 20);
    }
  });
  uint64_t last = 0;
  while (last < kOps) {
    const uint64_t now = stats.Snapshot().completed();
    ASSERT_GE(now, last);
    last = now;
  }
  writer.join();
  EXPECT_EQ(stats.Snapshot().bytes_written, uint64_t{kOps} * 4096);
}

}  // namespace
}  // namespace isergw::ublk
