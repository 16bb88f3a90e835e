#include "iser_client/transport/iser_header.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace isergw::iscsi {
namespace {

TEST(IserHeaderTest, EncodesRfc7145LayoutBigEndian) {
  IserHeader h;
  h.flags = kIserTypeControl | kIserWriteValid | kIserReadValid;
  h.write_stag = 0x11223344;
  h.write_va = 0x0102030405060708ull;
  h.read_stag = 0xa1b2c3d4;
  h.read_va = 0xf0e0d0c0b0a09080ull;
  std::array<uint8_t, kIserHeaderSize> out;
  out.fill(0xee);
  EncodeIserHeader(h, out);
  const std::array<uint8_t, kIserHeaderSize> want = {
      0x1c, 0x00, 0x00, 0x00,                          // flags, reserved
      0x11, 0x22, 0x33, 0x44,                          // write STag
      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // write VA
      0xa1, 0xb2, 0xc3, 0xd4,                          // read STag
      0xf0, 0xe0, 0xd0, 0xc0, 0xb0, 0xa0, 0x90, 0x80,  // read VA
  };
  EXPECT_EQ(out, want);
}

TEST(IserHeaderTest, RoundTrips) {
  IserHeader h;
  h.flags = kIserTypeControl | kIserReadValid;
  h.read_stag = 77;
  h.read_va = 0x7fff12345000ull;
  std::array<uint8_t, kIserHeaderSize + 48> message{};
  EncodeIserHeader(h, std::span<uint8_t, kIserHeaderSize>(message.data(), kIserHeaderSize));
  auto decoded = DecodeIserHeader(message);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->read_valid());
  EXPECT_FALSE(decoded->write_valid());
  EXPECT_EQ(decoded->read_stag, 77u);
  EXPECT_EQ(decoded->read_va, 0x7fff12345000ull);
  EXPECT_EQ(decoded->write_stag, 0u);
}

TEST(IserHeaderTest, RejectsShortMessages) {
  std::array<uint8_t, kIserHeaderSize - 1> shorter{};
  shorter[0] = kIserTypeControl;
  auto decoded = DecodeIserHeader(shorter);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(DecodeIserHeader({}).ok());
}

TEST(IserHeaderTest, RejectsHelloAndUnknownTypes) {
  std::array<uint8_t, kIserHeaderSize> message{};
  for (uint8_t type : {uint8_t{0x00}, kIserTypeHello, kIserTypeHelloReply, uint8_t{0xf0}}) {
    message[0] = type;
    EXPECT_FALSE(DecodeIserHeader(message).ok()) << int{type};
  }
  message[0] = kIserTypeControl;
  EXPECT_TRUE(DecodeIserHeader(message).ok());
}

TEST(IserCmPrivateDataTest, FlagsByteThenReserved) {
  std::array<uint8_t, kIserCmPrivateDataSize> out;
  out.fill(0xff);
  EncodeIserCmPrivateData(kIserCmZeroBasedVaNotSupported | kIserCmSendWithInvalidateNotSupported,
                          out);
  // Linux's struct iser_cm_hdr: u8 flags (0x80 ZBVA not supported, 0x40 send
  // with invalidate not supported), u8 rsvd[3].
  EXPECT_EQ(out, (std::array<uint8_t, 4>{0xc0, 0, 0, 0}));
}

TEST(IserWriteVaTest, StartsAfterImmediateData) {
  alignas(4096) static uint8_t buffer[65536];
  EXPECT_EQ(IserWriteVa(buffer, 0), reinterpret_cast<uint64_t>(buffer));
  EXPECT_EQ(IserWriteVa(buffer, 8192), reinterpret_cast<uint64_t>(buffer) + 8192);
}

}  // namespace
}  // namespace isergw::iscsi
