#include "iser_client/scsi/cdb.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/scsi/test_bytes.h"

namespace isergw::scsi {
namespace {

using ::isergw::scsi::testing::CdbBytes;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

TEST(CdbTest, TestUnitReadyIsSixZeroBytes) {
  Cdb cdb = MakeTestUnitReady();
  EXPECT_THAT(CdbBytes(cdb), ElementsAre(0, 0, 0, 0, 0, 0));
  // Bytes beyond the length stay zero.
  for (size_t i = cdb.length; i < kMaxCdbLength; ++i) EXPECT_EQ(cdb.bytes[i], 0);
}

TEST(CdbTest, StandardInquiry) {
  EXPECT_THAT(CdbBytes(MakeInquiry(96)), ElementsAre(0x12, 0x00, 0x00, 0x00, 0x60, 0x00));
  EXPECT_THAT(CdbBytes(MakeInquiry(0x1234)), ElementsAre(0x12, 0, 0, 0x12, 0x34, 0));
}

TEST(CdbTest, VpdInquirySetsEvpdAndPage) {
  EXPECT_THAT(CdbBytes(MakeInquiryVpd(0x83, 0x0200)),
              ElementsAre(0x12, 0x01, 0x83, 0x02, 0x00, 0x00));
  EXPECT_THAT(CdbBytes(MakeInquiryVpd(vpd::kBlockLimits)),
              ElementsAre(0x12, 0x01, 0xb0, 0x00, 0xff, 0x00));
}

TEST(CdbTest, ReadCapacity10) {
  EXPECT_THAT(CdbBytes(MakeReadCapacity10()), ElementsAre(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0));
}

TEST(CdbTest, ReadCapacity16IsServiceActionIn) {
  EXPECT_THAT(CdbBytes(MakeReadCapacity16()),
              ElementsAre(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0));
}

TEST(CdbTest, Read10AndWrite10Layout) {
  EXPECT_THAT(CdbBytes(MakeRead10(0x01020304, 0x0506, false)),
              ElementsAre(0x28, 0x00, 0x01, 0x02, 0x03, 0x04, 0x00, 0x05, 0x06, 0x00));
  EXPECT_THAT(CdbBytes(MakeWrite10(0xa1b2c3d4, 8, true)),
              ElementsAre(0x2a, 0x08, 0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x00, 0x08, 0x00));
}

TEST(CdbTest, Read16AndWrite16Layout) {
  EXPECT_THAT(CdbBytes(MakeRead16(0x0102030405060708, 0x11223344, true)),
              ElementsAre(0x88, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x22, 0x33, 0x44, 0, 0));
  EXPECT_THAT(CdbBytes(MakeWrite16(0x1'0000'0000, 1, false)),
              ElementsAre(0x8a, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0));
}

TEST(CdbTest, MakeReadPicksTenByteWhenRangeFits) {
  Cdb small = MakeRead(0x1000, 8, false);
  EXPECT_EQ(small.length, 10);
  EXPECT_EQ(small.opcode(), opcode::kRead10);
  EXPECT_THAT(CdbBytes(small), ElementsAre(0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0));

  // Last block 0xffffffff still fits.
  Cdb edge = MakeRead(0xffffffff, 1, true);
  EXPECT_EQ(edge.opcode(), opcode::kRead10);
  EXPECT_EQ(edge.bytes[1], 0x08);
}

TEST(CdbTest, MakeReadPicksSixteenByteForLargeLbaOrCount) {
  // Range crosses 2^32.
  Cdb crossing = MakeRead(0xffffffff, 2, false);
  EXPECT_EQ(crossing.opcode(), opcode::kRead16);
  EXPECT_THAT(CdbBytes(crossing),
              ElementsAre(0x88, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0, 0));
  // Count above 16 bits.
  Cdb big = MakeRead(0, 0x10000, false);
  EXPECT_EQ(big.opcode(), opcode::kRead16);
  EXPECT_THAT(CdbBytes(big), ElementsAre(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0));
}

TEST(CdbTest, MakeWritePicksSizeAndCarriesFua) {
  Cdb w10 = MakeWrite(7, 0xffff, true);
  EXPECT_THAT(CdbBytes(w10), ElementsAre(0x2a, 0x08, 0, 0, 0, 7, 0, 0xff, 0xff, 0));
  Cdb w16 = MakeWrite(0x1'0000'0000, 1, true);
  EXPECT_THAT(CdbBytes(w16), ElementsAre(0x8a, 0x08, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0));
}

TEST(CdbTest, FitsTenByteCdbBoundaries) {
  EXPECT_TRUE(FitsTenByteCdb(0, 0xffff));
  EXPECT_FALSE(FitsTenByteCdb(0, 0x10000));
  EXPECT_TRUE(FitsTenByteCdb(0xffff'0000, 0x10000 - 1));
  EXPECT_TRUE(FitsTenByteCdb(0xffffffff, 1));
  EXPECT_FALSE(FitsTenByteCdb(0xffffffff, 2));
  EXPECT_FALSE(FitsTenByteCdb(0x1'0000'0000, 0));
  EXPECT_FALSE(FitsTenByteCdb(~uint64_t{0}, 1));
}

TEST(CdbTest, SynchronizeCache) {
  EXPECT_THAT(CdbBytes(MakeSynchronizeCache10()), ElementsAre(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  EXPECT_THAT(CdbBytes(MakeSynchronizeCache10(0x10, 0x20)),
              ElementsAre(0x35, 0, 0, 0, 0, 0x10, 0, 0, 0x20, 0));
  EXPECT_THAT(CdbBytes(MakeSynchronizeCache16(0x0102030405060708, 0x0a0b0c0d)),
              ElementsAre(0x91, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0));
  EXPECT_EQ(MakeSynchronizeCache().opcode(), opcode::kSynchronizeCache10);
  EXPECT_EQ(MakeSynchronizeCache(0x2'0000'0000, 1).opcode(), opcode::kSynchronizeCache16);
}

TEST(CdbTest, UnmapCdb) {
  EXPECT_THAT(CdbBytes(MakeUnmap(40)), ElementsAre(0x42, 0, 0, 0, 0, 0, 0, 0, 40, 0));
  EXPECT_THAT(CdbBytes(MakeUnmap(0x0118, true)), ElementsAre(0x42, 1, 0, 0, 0, 0, 0, 1, 0x18, 0));
}

TEST(CdbTest, UnmapParameterListTwoDescriptors) {
  const UnmapRange ranges[] = {{0x0102030405060708, 0x11223344}, {0x20, 8}};
  uint8_t buf[64];
  std::fill(std::begin(buf), std::end(buf), 0xee);
  absl::StatusOr<size_t> n = BuildUnmapParameterList(ranges, buf);
  ASSERT_TRUE(n.ok()) << n.status();
  ASSERT_EQ(*n, 40u);
  EXPECT_THAT(
      std::vector<uint8_t>(buf, buf + 40),
      ElementsAreArray<uint8_t>({
          0x00, 0x26, 0x00, 0x20, 0, 0, 0, 0,                                         // header
          1,    2,    3,    4,    5, 6, 7, 8,    0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0,  // desc 0
          0,    0,    0,    0,    0, 0, 0, 0x20, 0,    0,    0,    8,    0, 0, 0, 0,  // desc 1
      }));
  EXPECT_EQ(buf[40], 0xee) << "wrote past the list";
}

TEST(CdbTest, UnmapParameterListRejectsSmallBufferWithoutWriting) {
  const UnmapRange ranges[] = {{1, 1}, {2, 2}};
  uint8_t buf[39];
  std::fill(std::begin(buf), std::end(buf), 0xee);
  absl::StatusOr<size_t> n = BuildUnmapParameterList(ranges, buf);
  EXPECT_EQ(n.status().code(), absl::StatusCode::kResourceExhausted);
  for (uint8_t b : buf) EXPECT_EQ(b, 0xee);
}

TEST(CdbTest, UnmapParameterListRejectsEmptyAndTooMany) {
  uint8_t buf[16];
  EXPECT_EQ(BuildUnmapParameterList({}, buf).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<UnmapRange> many(kMaxUnmapDescriptors + 1);
  std::vector<uint8_t> big(UnmapParameterListLength(many.size()));
  EXPECT_EQ(BuildUnmapParameterList(many, big).status().code(), absl::StatusCode::kInvalidArgument);
  // The maximum itself fits the 16-bit UNMAP DATA LENGTH.
  many.pop_back();
  absl::StatusOr<size_t> n = BuildUnmapParameterList(many, big);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((big[0] << 8 | big[1]) + 2, static_cast<int>(*n));
}

TEST(CdbTest, WriteSame16Flags) {
  EXPECT_THAT(CdbBytes(MakeWriteSame16(0x10, 0x800)),
              ElementsAre(0x93, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0x08, 0, 0, 0));
  EXPECT_EQ(MakeWriteSame16(0, 1, {.unmap = true}).bytes[1], 0x08);
  EXPECT_EQ(MakeWriteSame16(0, 1, {.unmap = true, .anchor = true}).bytes[1], 0x18);
  EXPECT_EQ(MakeWriteSame16(0, 1, {.unmap = true, .ndob = true}).bytes[1], 0x09);
  EXPECT_EQ(MakeWriteSame16(0, 1, {.ndob = true}).bytes[1], 0x01);
  EXPECT_EQ(MakeWriteSame16(0, 1).length, 16);
}

TEST(CdbTest, ReportLuns) {
  EXPECT_THAT(CdbBytes(MakeReportLuns()), ElementsAre(0xa0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0));
  EXPECT_THAT(CdbBytes(MakeReportLuns(0x01020304)),
              ElementsAre(0xa0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0));
}

TEST(LunTest, EncodePeripheralFlatAndExtended) {
  EXPECT_EQ(EncodeLun(0), 0u);
  EXPECT_EQ(EncodeLun(5), 0x0005'0000'0000'0000u);
  EXPECT_EQ(EncodeLun(255), 0x00ff'0000'0000'0000u);
  EXPECT_EQ(EncodeLun(256), 0x4100'0000'0000'0000u);
  EXPECT_EQ(EncodeLun(300), 0x412c'0000'0000'0000u);
  EXPECT_EQ(EncodeLun(16383), 0x7fff'0000'0000'0000u);
  EXPECT_EQ(EncodeLun(16384), 0xd200'4000'0000'0000u);
  EXPECT_EQ(EncodeLun(0xffffff), 0xd2ff'ffff'0000'0000u);
  EXPECT_EQ(EncodeLun(0x1000000), kUnencodableLun);
}

TEST(LunTest, DecodeRoundTrips) {
  for (uint32_t lun : {0u, 1u, 255u, 256u, 1000u, 16383u, 16384u, 0xffffffu}) {
    absl::StatusOr<uint32_t> back = DecodeLun(EncodeLun(lun));
    ASSERT_TRUE(back.ok()) << lun << ": " << back.status();
    EXPECT_EQ(*back, lun);
  }
  // A target may use flat addressing for small numbers too.
  EXPECT_EQ(DecodeLun(0x4003'0000'0000'0000u).value(), 3u);
}

TEST(LunTest, DecodeRejectsUnsupportedAddressing) {
  // Second level present.
  EXPECT_FALSE(DecodeLun(0x0001'0002'0000'0000u).ok());
  // Peripheral with a bus identifier.
  EXPECT_FALSE(DecodeLun(0x0101'0000'0000'0000u).ok());
  // Logical unit addressing (method 10b).
  EXPECT_FALSE(DecodeLun(0x8001'0000'0000'0000u).ok());
  // REPORT LUNS well-known LUN.
  EXPECT_FALSE(DecodeLun(0xc101'0000'0000'0000u).ok());
  // Extended flat with trailing garbage.
  EXPECT_FALSE(DecodeLun(0xd200'0001'0000'0001u).ok());
}

}  // namespace
}  // namespace isergw::scsi
