#include "nbd/request.h"

#include <gtest/gtest.h>

namespace isergw::nbd {
namespace {

ExportLimits Limits() {
  ExportLimits l;
  l.size = 1 << 20;
  l.min_block = 512;
  l.max_block = 64 * 1024;
  l.transmission_flags =
      kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendTrim | kTxSendWriteZeroes | kTxSendCache;
  l.structured_replies = true;
  return l;
}

RequestHeader Req(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0) {
  RequestHeader h;
  h.type = type;
  h.offset = offset;
  h.length = length;
  h.flags = flags;
  return h;
}

TEST(RequestTest, AcceptsValidRequests) {
  const ExportLimits l = Limits();
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 4096), l).action, RequestAction::kRead);
  auto w = CheckRequest(Req(kCmdWrite, 4096, 8192, kCmdFlagFua), l);
  EXPECT_EQ(w.action, RequestAction::kWrite);
  EXPECT_EQ(w.payload_bytes, 8192u);
  EXPECT_EQ(CheckRequest(Req(kCmdFlush, 0, 0), l).action, RequestAction::kFlush);
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 1 << 20), l).action, RequestAction::kTrim);
  EXPECT_EQ(CheckRequest(Req(kCmdWriteZeroes, 512, 512, kCmdFlagNoHole), l).action,
            RequestAction::kWriteZeroes);
  EXPECT_EQ(CheckRequest(Req(kCmdCache, 0, 512), l).action, RequestAction::kCache);
  EXPECT_EQ(CheckRequest(Req(kCmdDisc, 0, 0), l).action, RequestAction::kDisconnect);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, (1 << 20) - 512, 512, kCmdFlagDf), l).action,
            RequestAction::kRead);
}

TEST(RequestTest, PastTheEnd) {
  const ExportLimits l = Limits();
  auto r = CheckRequest(Req(kCmdRead, (1 << 20) - 512, 1024), l);
  EXPECT_EQ(r.action, RequestAction::kReject);
  EXPECT_EQ(r.error, kEinval);
  auto w = CheckRequest(Req(kCmdWrite, 1 << 20, 512), l);
  EXPECT_EQ(w.action, RequestAction::kReject);
  EXPECT_EQ(w.error, kEnospc);
  EXPECT_EQ(w.payload_bytes, 512u);  // still read off the wire, then dropped
  // offset + length wrapping around 2^64 is past the end too.
  auto wrap = CheckRequest(Req(kCmdTrim, ~0ull - 511, 1024), l);
  EXPECT_EQ(wrap.action, RequestAction::kReject);
  EXPECT_EQ(wrap.error, kEnospc);
}

TEST(RequestTest, BadRequests) {
  const ExportLimits l = Limits();
  EXPECT_EQ(CheckRequest(Req(99, 0, 512), l).error, kEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 100, 512), l).error, kEinval);  // misaligned
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 0), l).error, kEinval);      // empty
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 128 * 1024), l).error, kEoverflow);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 512, kCmdFlagFua), l).error, kEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 512, kCmdFlagNoHole), l).error, kEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 512, 0x8000), l).action, RequestAction::kReject);
  // An oversized WRITE cannot be followed: its payload would have to be skipped.
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 128 * 1024), l).action, RequestAction::kDropClient);
}

TEST(RequestTest, OfferedFeaturesOnly) {
  ExportLimits l = Limits();
  l.transmission_flags = kTxHasFlags | kTxReadOnly | kTxSendWriteZeroes;
  l.structured_replies = false;
  EXPECT_EQ(CheckRequest(Req(kCmdTrim, 0, 512), l).error, kEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 512), l).error, kEperm);
  EXPECT_EQ(CheckRequest(Req(kCmdWriteZeroes, 0, 512), l).error, kEperm);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 512, kCmdFlagDf), l).error, kEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdWrite, 0, 512, kCmdFlagFua), l).error, kEinval);
  EXPECT_EQ(CheckRequest(Req(kCmdRead, 0, 128 * 1024), l).error, kEinval);
}

}  // namespace
}  // namespace isergw::nbd
