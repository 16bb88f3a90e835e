#include "ublk/ram_backend.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/unit/ublk/fake_sink.h"

namespace isergw::ublk {
namespace {

IoRequest Request(IoOp op, uint64_t offset, uint32_t length, void* buffer = nullptr) {
  IoRequest io;
  io.op = op;
  io.offset = offset;
  io.length = length;
  io.buffer = buffer;
  return io;
}

TEST(RamBackendTest, Geometry) {
  auto ram = RamBackend::Create(64 << 20);
  ASSERT_TRUE(ram.ok()) << ram.status();
  const Geometry& g = (*ram)->geometry();
  EXPECT_EQ(g.capacity_bytes, uint64_t{64} << 20);
  EXPECT_EQ(g.logical_block_size, 512u);
  EXPECT_EQ(g.physical_block_size, 4096u);
  EXPECT_FALSE(g.volatile_cache);  // nothing to flush
  EXPECT_NE(g.discard_granularity, 0u);
  EXPECT_NE(g.max_write_zeroes_bytes, 0u);
}

TEST(RamBackendTest, RefusesBadSizes) {
  EXPECT_FALSE(RamBackend::Create(0).ok());
  EXPECT_FALSE(RamBackend::Create(4096, 1000).ok());
  EXPECT_FALSE(RamBackend::Create(4096 + 512, 4096).ok());
}

TEST(RamBackendTest, WriteReadDiscardWriteZeroes) {
  auto ram = RamBackend::Create(1 << 20);
  ASSERT_TRUE(ram.ok());
  RamBackend& r = **ram;
  std::vector<uint8_t> data(64 * 1024);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  // Unaligned to pages on purpose: 512-byte sectors.
  const uint64_t at = 4096 * 3 + 512;
  EXPECT_EQ(r.Execute(Request(IoOp::kWrite, at, 64 * 1024, data.data())), 64 * 1024);
  std::vector<uint8_t> back(64 * 1024);
  EXPECT_EQ(r.Execute(Request(IoOp::kRead, at, 64 * 1024, back.data())), 64 * 1024);
  EXPECT_EQ(back, data);
  EXPECT_EQ(r.Execute(Request(IoOp::kFlush, 0, 0)), 0);

  // Discard a range crossing page boundaries on both ends.
  const uint64_t hole = at + 1024;
  const uint32_t hole_len = 5 * 4096 + 1536;
  EXPECT_EQ(r.Execute(Request(IoOp::kDiscard, hole, hole_len)), 0);
  EXPECT_EQ(r.Execute(Request(IoOp::kRead, at, 64 * 1024, back.data())), 64 * 1024);
  for (size_t i = 0; i < back.size(); ++i) {
    const bool zeroed = at + i >= hole && at + i < hole + hole_len;
    ASSERT_EQ(back[i], zeroed ? 0 : data[i]) << i;
  }

  EXPECT_EQ(r.Execute(Request(IoOp::kWrite, at, 64 * 1024, data.data())), 64 * 1024);
  EXPECT_EQ(r.Execute(Request(IoOp::kWriteZeroes, at + 512, 512)), 0);
  EXPECT_EQ(r.data()[at + 511], data[511]);
  EXPECT_EQ(r.data()[at + 512], 0);
  EXPECT_EQ(r.data()[at + 1023], 0);
  EXPECT_EQ(r.data()[at + 1024], data[1024]);
}

TEST(RamBackendTest, OutOfRangeIsAnIoError) {
  auto ram = RamBackend::Create(1 << 20);
  ASSERT_TRUE(ram.ok());
  char buf[4096];
  EXPECT_EQ((*ram)->Execute(Request(IoOp::kRead, (1 << 20) - 512, 4096, buf)), -EIO);
  EXPECT_EQ((*ram)->Execute(Request(IoOp::kDiscard, 2 << 20, 4096)), -EIO);
}

TEST(RamBackendTest, QueueCompletesInline) {
  auto ram = RamBackend::Create(1 << 20);
  ASSERT_TRUE(ram.ok());
  FakeSink sink;
  QueueContext context;
  context.depth = 4;
  context.sink = &sink;
  auto queue = (*ram)->OpenQueue(context);
  ASSERT_TRUE(queue.ok());
  EXPECT_EQ((*queue)->TagBuffer(0), nullptr);  // the default allocator serves it
  char buf[4096];
  IoRequest io = Request(IoOp::kRead, 0, 4096, buf);
  io.tag = 3;
  (*queue)->Submit(io);
  EXPECT_EQ(sink.completions, 1);
  EXPECT_EQ(sink.results[3], 4096);
}

}  // namespace
}  // namespace isergw::ublk
