#include "iser_client/scsi/capacity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace isergw::scsi {
namespace {

TEST(ReadCapacity10Test, Decodes) {
  // Last LBA 0x0013ffff (1 GiB + ... of 512-byte blocks), block length 512.
  const std::vector<uint8_t> data = {0x00, 0x13, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00};
  absl::StatusOr<Capacity> c = DecodeReadCapacity10(data);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->block_count, 0x140000u);
  EXPECT_EQ(c->block_size, 512u);
  EXPECT_EQ(c->bytes(), 0x140000ull * 512);
  EXPECT_FALSE(NeedsReadCapacity16(*c));
  EXPECT_FALSE(c->lbpme);
}

TEST(ReadCapacity10Test, AllOnesMeansUseReadCapacity16) {
  const std::vector<uint8_t> data = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x10, 0x00};
  absl::StatusOr<Capacity> c = DecodeReadCapacity10(data);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(NeedsReadCapacity16(*c));
  EXPECT_EQ(c->block_count, 0x1'0000'0000u);
  EXPECT_EQ(c->block_size, 4096u);
  // One below all-ones is a real answer.
  const std::vector<uint8_t> almost = {0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x02, 0x00};
  EXPECT_FALSE(NeedsReadCapacity16(DecodeReadCapacity10(almost).value()));
}

TEST(ReadCapacity10Test, RejectsShortAndZeroBlockSize) {
  const std::vector<uint8_t> shortdata = {0x00, 0x13, 0xff, 0xff, 0x00, 0x00, 0x02};
  EXPECT_EQ(DecodeReadCapacity10(shortdata).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeReadCapacity10({}).ok());
  const std::vector<uint8_t> zero = {0x00, 0x13, 0xff, 0xff, 0, 0, 0, 0};
  EXPECT_FALSE(DecodeReadCapacity10(zero).ok());
}

// 32 bytes as LIO returns for a 10 TiB thin LUN with 512e over 4K physical:
// last LBA 0x4ffffffff... here 0x00000004_ffffffff, 512-byte blocks,
// exponent 3, LBPME and LBPRZ set, lowest aligned LBA 0.
std::vector<uint8_t> Rc16() {
  return {0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff,  // last LBA
          0x00, 0x00, 0x02, 0x00,                          // block length
          0x00, 0x03, 0xc0, 0x00,                          // prot, exponent, LBPME|LBPRZ
          0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0};
}

TEST(ReadCapacity16Test, Decodes) {
  absl::StatusOr<Capacity> c = DecodeReadCapacity16(Rc16());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->block_count, 0x5'0000'0000u);
  EXPECT_EQ(c->block_size, 512u);
  EXPECT_EQ(c->physical_block_exponent, 3);
  EXPECT_EQ(c->physical_block_size(), 4096u);
  EXPECT_TRUE(c->lbpme);
  EXPECT_TRUE(c->lbprz);
  EXPECT_EQ(c->lowest_aligned_lba, 0);
  EXPECT_FALSE(c->prot_en);
  EXPECT_FALSE(c->needs_read_capacity16);
}

TEST(ReadCapacity16Test, FlagsAndAlignmentBits) {
  std::vector<uint8_t> d = Rc16();
  d[12] = 0x05;  // P_TYPE 2, PROT_EN
  d[13] = 0xf0;  // P_I_EXPONENT only, LB per PB exponent 0
  d[14] = 0x3f;  // no LBPME/LBPRZ, lowest aligned LBA high bits all set
  d[15] = 0xff;
  absl::StatusOr<Capacity> c = DecodeReadCapacity16(d);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->prot_en);
  EXPECT_EQ(c->p_type, 2);
  EXPECT_EQ(c->physical_block_exponent, 0);
  EXPECT_FALSE(c->lbpme);
  EXPECT_FALSE(c->lbprz);
  EXPECT_EQ(c->lowest_aligned_lba, 0x3fff);
  d[14] = 0x80;
  d[15] = 0x07;
  c = DecodeReadCapacity16(d);
  EXPECT_TRUE(c->lbpme);
  EXPECT_FALSE(c->lbprz);
  EXPECT_EQ(c->lowest_aligned_lba, 7);
}

TEST(ReadCapacity16Test, AcceptsSixteenBytesRejectsFewer) {
  std::vector<uint8_t> d = Rc16();
  d.resize(16);
  EXPECT_TRUE(DecodeReadCapacity16(d).ok());
  d.resize(15);
  EXPECT_EQ(DecodeReadCapacity16(d).status().code(), absl::StatusCode::kInvalidArgument);
  d.resize(8);
  EXPECT_FALSE(DecodeReadCapacity16(d).ok());
}

TEST(ReadCapacity16Test, RejectsHostileValues) {
  std::vector<uint8_t> d = Rc16();
  d[8] = d[9] = d[10] = d[11] = 0;
  EXPECT_FALSE(DecodeReadCapacity16(d).ok());
  d = Rc16();
  for (int i = 0; i < 8; ++i) d[i] = 0xff;
  EXPECT_FALSE(DecodeReadCapacity16(d).ok());
}

TEST(CapacityTest, BytesSaturates) {
  Capacity c;
  c.block_count = std::numeric_limits<uint64_t>::max() / 2;
  c.block_size = 4096;
  EXPECT_EQ(c.bytes(), std::numeric_limits<uint64_t>::max());
}

}  // namespace
}  // namespace isergw::scsi
