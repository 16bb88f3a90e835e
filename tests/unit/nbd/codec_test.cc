#include "nbd/codec.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace isergw::nbd {
namespace {

TEST(CodecTest, RequestHeaderRoundTrip) {
  RequestHeader h;
  h.flags = kCmdFlagFua;
  h.type = kCmdWrite;
  h.cookie = 0x0102030405060708ull;
  h.offset = 0x1122334455667788ull;
  h.length = 0xdeadbeef;
  uint8_t wire[kRequestHeaderBytes];
  EncodeRequestHeader(h, wire);
  EXPECT_EQ(wire[0], 0x25);
  EXPECT_EQ(wire[3], 0x13);
  EXPECT_EQ(wire[8], 0x01);  // cookie, big-endian
  auto back = DecodeRequestHeader(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->flags, h.flags);
  EXPECT_EQ(back->type, h.type);
  EXPECT_EQ(back->cookie, h.cookie);
  EXPECT_EQ(back->offset, h.offset);
  EXPECT_EQ(back->length, h.length);
}

TEST(CodecTest, RequestHeaderRejectsBadMagicAndShortInput) {
  uint8_t wire[kRequestHeaderBytes] = {};
  EncodeRequestHeader(RequestHeader{}, wire);
  EXPECT_FALSE(DecodeRequestHeader(absl::MakeConstSpan(wire, kRequestHeaderBytes - 1)).ok());
  wire[0] ^= 0xff;
  auto bad = DecodeRequestHeader(wire);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("magic"), std::string::npos);
}

TEST(CodecTest, Replies) {
  uint8_t simple[kSimpleReplyBytes];
  EncodeSimpleReply(kEio, 42, simple);
  EXPECT_EQ(GetBe32(simple), kSimpleReplyMagic);
  EXPECT_EQ(GetBe32(simple + 4), kEio);
  EXPECT_EQ(GetBe64(simple + 8), 42u);
  uint8_t chunk[kStructuredHeaderBytes];
  EncodeStructuredHeader(kReplyFlagDone, kReplyTypeOffsetData, 7, 4104, chunk);
  EXPECT_EQ(GetBe32(chunk), kStructuredReplyMagic);
  EXPECT_EQ(GetBe16(chunk + 4), kReplyFlagDone);
  EXPECT_EQ(GetBe16(chunk + 6), kReplyTypeOffsetData);
  EXPECT_EQ(GetBe64(chunk + 8), 7u);
  EXPECT_EQ(GetBe32(chunk + 16), 4104u);
  uint8_t opt[kOptionReplyHeaderBytes];
  EncodeOptionReplyHeader(kOptGo, kRepErrUnknown, 3, opt);
  EXPECT_EQ(GetBe64(opt), kOptReplyMagic);
  EXPECT_EQ(GetBe32(opt + 8), kOptGo);
  EXPECT_EQ(GetBe32(opt + 12), kRepErrUnknown);
  EXPECT_EQ(GetBe32(opt + 16), 3u);
}

TEST(CodecTest, ErrnoMapping) {
  EXPECT_EQ(NbdErrorForErrno(0), 0u);
  EXPECT_EQ(NbdErrorForErrno(-EIO), kEio);
  EXPECT_EQ(NbdErrorForErrno(-ENOSPC), kEnospc);
  EXPECT_EQ(NbdErrorForErrno(-EROFS), kEperm);
  EXPECT_EQ(NbdErrorForErrno(-EOPNOTSUPP), kEnotsup);
  EXPECT_EQ(NbdErrorForErrno(-ETIMEDOUT), kEio);
  EXPECT_EQ(NbdErrorForErrno(-ENOLINK), kEio);
}

}  // namespace
}  // namespace isergw::nbd
