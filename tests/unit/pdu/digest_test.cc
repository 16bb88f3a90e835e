#include "iser_client/pdu/digest.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "iser_client/pdu/padding.h"

namespace isergw::iscsi {
namespace {

// RFC 3720 appendix B.4 / RFC 7143 "CRC Examples": the RFC prints the four
// CRC bytes as they appear on the wire.
struct Vector {
  const char* name;
  std::vector<uint8_t> data;
  std::array<uint8_t, 4> wire;
};

std::vector<Vector> RfcVectors() {
  std::vector<uint8_t> zeros(32, 0x00), ones(32, 0xff), inc(32), dec(32);
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<uint8_t>(i);
    dec[i] = static_cast<uint8_t>(31 - i);
  }
  std::vector<uint8_t> read10 = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  return {
      {"zeros", zeros, {0xaa, 0x36, 0x91, 0x8a}},
      {"ones", ones, {0x43, 0xab, 0xa8, 0x62}},
      {"incrementing", inc, {0x4e, 0x79, 0xdd, 0x46}},
      {"decrementing", dec, {0x5c, 0xdb, 0x3f, 0x11}},
      {"read10", read10, {0x56, 0x3a, 0x96, 0xd9}},
  };
}

TEST(Digest, RfcVectorsValue) {
  EXPECT_EQ(Crc32c(RfcVectors()[0].data), 0x8a9136aau);
  EXPECT_EQ(Crc32c(RfcVectors()[1].data), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(RfcVectors()[2].data), 0x46dd794eu);
  EXPECT_EQ(Crc32c(RfcVectors()[3].data), 0x113fdb5cu);
  EXPECT_EQ(Crc32c(RfcVectors()[4].data), 0xd9963a56u);
}

TEST(Digest, RfcVectorsWireBytes) {
  for (const Vector& v : RfcVectors()) {
    std::array<uint8_t, 4> wire{};
    StoreDigest(Crc32c(v.data), wire);
    EXPECT_EQ(wire, v.wire) << v.name;
    EXPECT_EQ(LoadDigest(v.wire), Crc32c(v.data)) << v.name;
  }
}

TEST(Digest, CheckValueAndEmpty) {
  const std::string_view check = "123456789";
  EXPECT_EQ(Crc32c({reinterpret_cast<const uint8_t*>(check.data()), check.size()}), 0xe3069283u);
  EXPECT_EQ(Crc32c({}), 0u);
}

TEST(Digest, IncrementalEqualsOneShotAtEverySplit) {
  const std::vector<uint8_t> data = RfcVectors()[4].data;
  const uint32_t whole = Crc32c(data);
  for (size_t a = 0; a <= data.size(); ++a) {
    for (size_t b = a; b <= data.size(); ++b) {
      const std::span<const uint8_t> s(data);
      Crc32cBuilder c;
      c.Update(s.first(a)).Update(s.subspan(a, b - a)).Update(s.subspan(b));
      ASSERT_EQ(c.Finish(), whole) << a << " " << b;
    }
  }
}

TEST(Digest, FinishDoesNotDisturbState) {
  const std::vector<uint8_t> data = RfcVectors()[2].data;
  Crc32cBuilder c;
  c.Update(std::span(data).first(10));
  (void)c.Finish();
  c.Update(std::span(data).subspan(10));
  EXPECT_EQ(c.Finish(), 0x46dd794eu);
}

TEST(Digest, ZerosAndPadding) {
  EXPECT_EQ(Crc32cBuilder().UpdateZeros(32).Finish(), 0x8a9136aau);
  EXPECT_EQ(Crc32cBuilder().UpdateZeros(200).Finish(), Crc32c(std::vector<uint8_t>(200, 0)));
  // DataDigest covers the zero pad bytes up to a multiple of 4.
  const std::vector<uint8_t> odd = {1, 2, 3, 4, 5};
  const std::vector<uint8_t> padded = {1, 2, 3, 4, 5, 0, 0, 0};
  EXPECT_EQ(DataDigest(odd), Crc32c(padded));
  EXPECT_NE(DataDigest(odd), Crc32c(odd));
  EXPECT_EQ(DataDigest(padded), Crc32c(padded));
}

TEST(Digest, LargeBufferMatchesChunked) {
  std::vector<uint8_t> big(3 << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 131 + 7);
  Crc32cBuilder c;
  for (size_t off = 0; off < big.size(); off += 4096) c.Update(std::span(big).subspan(off, 4096));
  EXPECT_EQ(Crc32c(big), c.Finish());
}

TEST(Padding, Lengths) {
  EXPECT_EQ(PadLength(0), 0u);
  EXPECT_EQ(PadLength(1), 3u);
  EXPECT_EQ(PadLength(2), 2u);
  EXPECT_EQ(PadLength(3), 1u);
  EXPECT_EQ(PadLength(4), 0u);
  EXPECT_EQ(PadLength(0xffffff), 1u);
  EXPECT_EQ(PaddedLength(5), 8u);
  EXPECT_EQ(PaddedLength(8), 8u);
  EXPECT_EQ(PaddedLength(0xffffff), 0x1000000u);
}

}  // namespace
}  // namespace isergw::iscsi
