#include "ublk/io_request.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace isergw::ublk {
namespace {

Geometry TestGeometry() {
  Geometry g;
  g.capacity_bytes = 1 << 20;  // 2048 sectors
  g.discard_granularity = 4096;
  g.max_discard_bytes = 1 << 20;
  g.max_write_zeroes_bytes = 1 << 20;
  g.volatile_cache = true;
  g.fua = true;
  return g;
}

ublksrv_io_desc Desc(uint32_t op_flags, uint64_t start, uint32_t sectors) {
  ublksrv_io_desc d{};
  d.op_flags = op_flags;
  d.start_sector = start;
  d.nr_sectors = sectors;
  return d;
}

char buffer[64 * 1024];

TEST(DecodeIoDescTest, ReadAndWrite) {
  IoRequest io;
  ASSERT_TRUE(
      DecodeIoDesc(Desc(UBLK_IO_OP_READ, 8, 16), 5, buffer, sizeof(buffer), TestGeometry(), &io)
          .ok());
  EXPECT_EQ(io.op, IoOp::kRead);
  EXPECT_EQ(io.tag, 5);
  EXPECT_EQ(io.offset, 4096u);
  EXPECT_EQ(io.length, 8192u);
  EXPECT_EQ(io.buffer, buffer);
  EXPECT_FALSE(io.fua);
  ASSERT_TRUE(DecodeIoDesc(Desc(UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, 0, 1), 0, buffer, sizeof(buffer),
                           TestGeometry(), &io)
                  .ok());
  EXPECT_EQ(io.op, IoOp::kWrite);
  EXPECT_TRUE(io.fua);
  EXPECT_EQ(io.length, 512u);
}

TEST(DecodeIoDescTest, FlushHasNoRange) {
  IoRequest io;
  ASSERT_TRUE(
      DecodeIoDesc(Desc(UBLK_IO_OP_FLUSH, 0, 0), 1, buffer, sizeof(buffer), TestGeometry(), &io)
          .ok());
  EXPECT_EQ(io.op, IoOp::kFlush);
  EXPECT_EQ(io.length, 0u);
  EXPECT_EQ(SuccessResult(io), 0);
}

TEST(DecodeIoDescTest, DiscardAndWriteZeroesDoNotUseTheBuffer) {
  IoRequest io;
  // Larger than the tag buffer: fine, no data moves.
  ASSERT_TRUE(DecodeIoDesc(Desc(UBLK_IO_OP_DISCARD, 0, 1024), 2, buffer, sizeof(buffer),
                           TestGeometry(), &io)
                  .ok());
  EXPECT_EQ(io.op, IoOp::kDiscard);
  EXPECT_EQ(io.length, 512u * 1024);
  EXPECT_EQ(io.buffer, nullptr);
  EXPECT_EQ(SuccessResult(io), 0);
  ASSERT_TRUE(DecodeIoDesc(Desc(UBLK_IO_OP_WRITE_ZEROES | UBLK_IO_F_NOUNMAP, 16, 8), 2, buffer,
                           sizeof(buffer), TestGeometry(), &io)
                  .ok());
  EXPECT_EQ(io.op, IoOp::kWriteZeroes);
  EXPECT_TRUE(io.no_unmap);
  EXPECT_EQ(io.offset, 8192u);
}

TEST(DecodeIoDescTest, RefusesWhatTheBackendDoesNotOffer) {
  Geometry g = TestGeometry();
  g.discard_granularity = 0;
  g.max_write_zeroes_bytes = 0;
  IoRequest io;
  absl::Status s = DecodeIoDesc(Desc(UBLK_IO_OP_DISCARD, 0, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ErrnoFor(s), -EOPNOTSUPP);
  s = DecodeIoDesc(Desc(UBLK_IO_OP_WRITE_ZEROES, 0, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  s = DecodeIoDesc(Desc(UBLK_IO_OP_WRITE_SAME, 0, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  s = DecodeIoDesc(Desc(0x22 /* a zone op */, 0, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(ErrnoFor(s), -EOPNOTSUPP);
  g.read_only = true;
  s = DecodeIoDesc(Desc(UBLK_IO_OP_WRITE, 0, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_FALSE(s.ok());
}

TEST(DecodeIoDescTest, RangeChecks) {
  IoRequest io;
  const Geometry g = TestGeometry();
  // Ends exactly at the capacity: fine.
  EXPECT_TRUE(DecodeIoDesc(Desc(UBLK_IO_OP_READ, 2040, 8), 0, buffer, sizeof(buffer), g, &io).ok());
  absl::Status s = DecodeIoDesc(Desc(UBLK_IO_OP_READ, 2041, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ErrnoFor(s), -EIO);
  // Start past the end with a length that would wrap around.
  s = DecodeIoDesc(Desc(UBLK_IO_OP_WRITE, ~uint64_t{0} - 2, 8), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  s = DecodeIoDesc(Desc(UBLK_IO_OP_READ, 0, 0), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  // More than the tag buffer holds.
  s = DecodeIoDesc(Desc(UBLK_IO_OP_READ, 0, 129), 0, buffer, sizeof(buffer), g, &io);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("tag buffer"), absl::string_view::npos) << s;
}

TEST(ErrnoForTest, MapsToBlockLayerErrnos) {
  EXPECT_EQ(ErrnoFor(absl::OkStatus()), 0);
  EXPECT_EQ(ErrnoFor(absl::UnimplementedError("")), -EOPNOTSUPP);
  EXPECT_EQ(ErrnoFor(absl::ResourceExhaustedError("")), -ENOSPC);
  EXPECT_EQ(ErrnoFor(absl::DeadlineExceededError("")), -ETIMEDOUT);
  EXPECT_EQ(ErrnoFor(absl::UnavailableError("")), -ENOLINK);
  EXPECT_EQ(ErrnoFor(absl::DataLossError("")), -ENODATA);
  EXPECT_EQ(ErrnoFor(absl::PermissionDeniedError("")), -EREMOTEIO);
  EXPECT_EQ(ErrnoFor(absl::FailedPreconditionError("")), -EREMOTEIO);
  EXPECT_EQ(ErrnoFor(absl::OutOfRangeError("")), -EIO);
  EXPECT_EQ(ErrnoFor(absl::InternalError("")), -EIO);
  EXPECT_EQ(ErrnoFor(absl::UnknownError("")), -EIO);
}

TEST(SuccessResultTest, BytesForDataOps) {
  IoRequest io;
  io.op = IoOp::kRead;
  io.length = 4096;
  EXPECT_EQ(SuccessResult(io), 4096);
  io.op = IoOp::kWrite;
  EXPECT_EQ(SuccessResult(io), 4096);
  io.op = IoOp::kWriteZeroes;
  EXPECT_EQ(SuccessResult(io), 0);
}

}  // namespace
}  // namespace isergw::ublk
