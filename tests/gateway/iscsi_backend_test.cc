// IscsiBackend as the ublk and NBD frontends use it: open it, open two
// queues on their own loops, submit block requests by tag and check the
// completions and the target's backing file.
#include "gateway/iscsi_backend.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/gateway/queue_test_support.h"
#include "tests/integration/it_support.h"

namespace isergw::gateway {
namespace {

using testing::FillRandom;
using testing::ReadFileBytes;

constexpr uint64_t kLunBytes = 32 << 20;
constexpr uint16_t kDepth = 16;

class IscsiBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto target = testing::StartTargetWithLun(kLunBytes, "thin_provisioning=1");
    ASSERT_TRUE(target.ok()) << target.status();
    target_ = std::move(*target);
    auto backend = IscsiBackend::Open(testing::OptionsFor(*target_.tgtd, target_.iqn), 1);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    loop_ = testing::NewLoop();
    const ublk::QueueContext context = QueueContextFor(*backend_, 0, kDepth, loop_.get(), &sink_);
    auto queue = backend_->OpenQueue(context);
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_ = std::move(*queue);
    // The tag buffers the ublk queue would hand the driver: the backend's
    // own (one arena per queue), distinct and page aligned.
    for (uint16_t tag = 0; tag < kDepth; ++tag) {
      buffers_[tag] = static_cast<uint8_t*>(queue_->TagBuffer(tag));
      ASSERT_NE(buffers_[tag], nullptr);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(buffers_[tag]) % 4096, 0u);
      if (tag > 0) {
        ASSERT_GE(buffers_[tag], buffers_[tag - 1] + context.buffer_bytes);
      }
    }
  }

  // Submits `io` and runs the loop until its tag completes; returns the result.
  int32_t Run(ublk::IoRequest io) {
    sink_.results.erase(io.tag);
    queue_->Submit(io);
    EXPECT_TRUE(loop_
                    ->RunUntil([&] { return sink_.results.count(io.tag) > 0; },
                               absl::Now() + absl::Seconds(10))
                    .ok());
    return sink_.results.count(io.tag) ? sink_.results[io.tag] : -ETIMEDOUT;
  }

  ublk::IoRequest Io(ublk::IoOp op, uint16_t tag, uint64_t offset, uint32_t length) {
    ublk::IoRequest io;
    io.op = op;
    io.tag = tag;
    io.offset = offset;
    io.length = length;
    io.buffer = buffers_[tag];
    return io;
  }

  testing::TargetWithLun target_;
  std::unique_ptr<IscsiBackend> backend_;
  std::unique_ptr<uring::EventLoop> loop_;
  RecordingSink sink_;
  std::unique_ptr<ublk::QueueBackend> queue_;
  uint8_t* buffers_[kDepth] = {};
};

TEST_F(IscsiBackendTest, GeometryComesFromTheLun) {
  const ublk::Geometry& g = backend_->geometry();
  EXPECT_EQ(g.capacity_bytes, kLunBytes);
  EXPECT_EQ(g.logical_block_size, 512u);
  EXPECT_EQ(g.max_io_bytes % 4096, 0u);
  // The write path follows the caching mode page (tgt: write cache on).
  const auto& caching = backend_->lun_info().caching;
  ASSERT_TRUE(caching.has_value()) << "MODE SENSE caching page not read";
  EXPECT_EQ(g.volatile_cache, caching->write_cache_enabled);
  EXPECT_EQ(g.fua, caching->dpofua);
  EXPECT_TRUE(g.volatile_cache);
  EXPECT_GT(g.discard_granularity, 0u) << "thin LUN: discard must be offered";
}

TEST_F(IscsiBackendTest, WritesLandInTheBackingFileAndReadBack) {
  const uint32_t len = 256 * 1024;
  FillRandom(buffers_[3], len, 7);
  std::vector<uint8_t> written(buffers_[3], buffers_[3] + len);
  auto w = Io(ublk::IoOp::kWrite, 3, 1 << 20, len);
  w.fua = true;
  ASSERT_EQ(Run(w), static_cast<int32_t>(len));
  EXPECT_EQ(ReadFileBytes(target_.backing_path, 1 << 20, len), written);

  memset(buffers_[5], 0xee, len);
  ASSERT_EQ(Run(Io(ublk::IoOp::kRead, 5, 1 << 20, len)), static_cast<int32_t>(len));
  EXPECT_EQ(memcmp(buffers_[5], written.data(), len), 0);
  EXPECT_EQ(Run(Io(ublk::IoOp::kFlush, 6, 0, 0)), 0);
}

TEST_F(IscsiBackendTest, ManyTagsInFlightAtOnce) {
  const uint32_t len = 64 * 1024;
  for (uint16_t tag = 0; tag < kDepth; ++tag) {
    FillRandom(buffers_[tag], len, 100 + tag);
    queue_->Submit(Io(ublk::IoOp::kWrite, tag, uint64_t{tag} * len, len));
  }
  ASSERT_TRUE(loop_
                  ->RunUntil([&] { return sink_.results.size() == kDepth; },
                             absl::Now() + absl::Seconds(10))
                  .ok());
  for (uint16_t tag = 0; tag < kDepth; ++tag) {
    EXPECT_EQ(sink_.results[tag], static_cast<int32_t>(len)) << "tag " << tag;
    std::vector<uint8_t> expect(len);
    FillRandom(expect.data(), len, 100 + tag);
    EXPECT_EQ(ReadFileBytes(target_.backing_path, uint64_t{tag} * len, len), expect);
  }
}

TEST_F(IscsiBackendTest, SessionsAndTheirCountersArePublishedForStatus) {
  const uint32_t len = 64 * 1024;
  for (int i = 0; i < 5; ++i) {
    FillRandom(buffers_[i], len, 20 + i);
    ASSERT_EQ(Run(Io(ublk::IoOp::kWrite, static_cast<uint16_t>(i), uint64_t(i) << 20, len)),
              static_cast<int32_t>(len));
  }
  auto sessions = backend_->sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].queue_id, 0);
  EXPECT_NE(sessions[0].tsih, 0);
  EXPECT_NE(sessions[0].isid, (std::array<uint8_t, 6>{}));
  ASSERT_NE(sessions[0].counters, nullptr);
  // The queue thread copies its session's counters once a second.
  (void)loop_->RunUntil([] { return false; }, absl::Now() + absl::Milliseconds(1200));
  EXPECT_GE(sessions[0].counters->commands.load(), 5u);
  EXPECT_EQ(sessions[0].counters->protocol_errors.load(), 0u);
}

TEST_F(IscsiBackendTest, DiscardAndWriteZeroesLeaveZerosInTheBackingFile) {
  const uint32_t len = 128 * 1024;
  FillRandom(buffers_[1], len, 9);
  ASSERT_EQ(Run(Io(ublk::IoOp::kWrite, 1, 4 << 20, len)), static_cast<int32_t>(len));
  ASSERT_EQ(Run(Io(ublk::IoOp::kWrite, 1, 8 << 20, len)), static_cast<int32_t>(len));
  const std::vector<uint8_t> zeros(len, 0);
  ASSERT_EQ(Run(Io(ublk::IoOp::kDiscard, 2, 4 << 20, len)), 0);
  EXPECT_EQ(ReadFileBytes(target_.backing_path, 4 << 20, len), zeros);
  auto wz = Io(ublk::IoOp::kWriteZeroes, 2, 8 << 20, len);
  wz.no_unmap = true;
  ASSERT_EQ(Run(wz), 0);
  EXPECT_EQ(ReadFileBytes(target_.backing_path, 8 << 20, len), zeros);
  // Neighbours are untouched.
  std::vector<uint8_t> before = ReadFileBytes(target_.backing_path, (4 << 20) - 512, 512);
  EXPECT_EQ(before, std::vector<uint8_t>(512, 0));
}

TEST_F(IscsiBackendTest, ReadPastTheEndFailsWithAnErrnoAndChangesNothing) {
  const uint32_t len = 4096;
  int32_t result = Run(Io(ublk::IoOp::kRead, 4, kLunBytes, len));
  EXPECT_LT(result, 0);
  EXPECT_NE(result, -ETIMEDOUT);
  memset(buffers_[4], 0x5a, len);
  EXPECT_LT(Run(Io(ublk::IoOp::kWrite, 4, kLunBytes - 512, len)), 0);
  EXPECT_EQ(ReadFileBytes(target_.backing_path, kLunBytes - 512, 512),
            std::vector<uint8_t>(512, 0));
}

}  // namespace
}  // namespace isergw::gateway
