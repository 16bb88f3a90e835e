#include "nbd/handshake.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nbd/codec.h"
#include "nbd/protocol.h"

namespace isergw::nbd {
namespace {

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  PutBe32(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}
std::string Be16(uint16_t v) {
  std::string s(2, '\0');
  PutBe16(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}
std::string Option(uint32_t option, const std::string& data) {
  std::string s(8, '\0');
  PutBe64(reinterpret_cast<uint8_t*>(s.data()), kIHaveOpt);
  return s + Be32(option) + Be32(static_cast<uint32_t>(data.size())) + data;
}
std::string GoData(const std::string& name, const std::vector<uint16_t>& infos) {
  std::string s =
      Be32(static_cast<uint32_t>(name.size())) + name + Be16(static_cast<uint16_t>(infos.size()));
  for (uint16_t i : infos) {
    s += Be16(i);
  }
  return s;
}

struct OptReply {
  uint32_t option;
  uint32_t type;
  std::string data;
};

// Splits the server's option replies.
std::vector<OptReply> ParseReplies(const std::string& out) {
  std::vector<OptReply> replies;
  const auto* p = reinterpret_cast<const uint8_t*>(out.data());
  size_t at = 0;
  while (at + 20 <= out.size()) {
    EXPECT_EQ(GetBe64(p + at), kOptReplyMagic);
    const uint32_t length = GetBe32(p + at + 16);
    replies.push_back({GetBe32(p + at + 8), GetBe32(p + at + 12), out.substr(at + 20, length)});
    at += 20 + length;
  }
  EXPECT_EQ(at, out.size());
  return replies;
}

class HandshakeTest : public ::testing::Test {
 protected:
  HandshakeTest() {
    info_.name = "vol";
    info_.description = "RAM";
    info_.size = 1 << 20;
    info_.transmission_flags = kTxHasFlags | kTxSendFlush;
    info_.min_block = 512;
    info_.preferred_block = 4096;
    info_.max_block = 65536;
  }
  // Greeting checked, client flags sent; returns what followed.
  std::string Run(Handshake& hs, const std::string& client, size_t* consumed = nullptr) {
    std::string out;
    hs.Start(&out);
    EXPECT_EQ(out.size(), 18u);
    EXPECT_EQ(GetBe64(reinterpret_cast<const uint8_t*>(out.data())), kNbdMagic);
    EXPECT_EQ(GetBe16(reinterpret_cast<const uint8_t*>(out.data()) + 16),
              kFlagFixedNewstyle | kFlagNoZeroes);
    out.clear();
    const size_t used = hs.Consume(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(client.data()), client.size()), &out);
    if (consumed) {
      *consumed = used;
    }
    return out;
  }
  ExportInfo info_;
};

TEST_F(HandshakeTest, GoWithBlockSizes) {
  Handshake hs(&info_);
  const std::string client =
      Be32(kClientFlagFixedNewstyle | kClientFlagNoZeroes) + Option(kOptStructuredReply, "") +
      Option(kOptGo, GoData("vol", {kInfoBlockSize, kInfoName})) + "REQUESTS";
  size_t used = 0;
  auto replies = ParseReplies(Run(hs, client, &used));
  EXPECT_EQ(hs.state(), Handshake::State::kTransmission);
  EXPECT_TRUE(hs.structured_replies());
  EXPECT_EQ(used, client.size() - 8);  // the requests are left for the connection
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[0].type, kRepAck);
  EXPECT_EQ(replies[0].option, kOptStructuredReply);
  // NBD_INFO_EXPORT: size and flags (with DF, since structured replies are on).
  ASSERT_EQ(replies[1].data.size(), 12u);
  const auto* e = reinterpret_cast<const uint8_t*>(replies[1].data.data());
  EXPECT_EQ(GetBe16(e), kInfoExport);
  EXPECT_EQ(GetBe64(e + 2), info_.size);
  EXPECT_EQ(GetBe16(e + 10), kTxHasFlags | kTxSendFlush | kTxSendDf);
  ASSERT_EQ(replies[2].data.size(), 14u);
  const auto* b = reinterpret_cast<const uint8_t*>(replies[2].data.data());
  EXPECT_EQ(GetBe16(b), kInfoBlockSize);
  EXPECT_EQ(GetBe32(b + 2), 512u);
  EXPECT_EQ(GetBe32(b + 6), 4096u);
  EXPECT_EQ(GetBe32(b + 10), 65536u);
  EXPECT_EQ(replies[3].data.substr(2), "vol");
  EXPECT_EQ(replies[4].type, kRepAck);
  EXPECT_EQ(replies[4].option, kOptGo);
}

TEST_F(HandshakeTest, ByteAtATimeGivesTheSameResult) {
  const std::string client = Be32(kClientFlagFixedNewstyle) + Option(kOptList, "") +
                             Option(kOptInfo, GoData("", {})) + Option(kOptGo, GoData("vol", {}));
  Handshake whole(&info_);
  const std::string expected = Run(whole, client);
  Handshake piecewise(&info_);
  std::string out;
  piecewise.Start(&out);
  out.clear();
  std::string pending;
  for (char c : client) {
    pending += c;
    const size_t used = piecewise.Consume(
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(pending.data()), pending.size()),
        &out);
    pending.erase(0, used);
  }
  EXPECT_TRUE(pending.empty());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(piecewise.state(), Handshake::State::kTransmission);
  EXPECT_FALSE(piecewise.structured_replies());
}

TEST_F(HandshakeTest, UnknownExportAndTlsAreRefusedButTheClientMayGoOn) {
  Handshake hs(&info_);
  auto replies = ParseReplies(Run(hs, Be32(kClientFlagFixedNewstyle) + Option(kOptStartTls, "") +
                                          Option(kOptGo, GoData("other", {})) +
                                          Option(kOptListMetaContext, "x") + Option(77, "")));
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].type, kRepErrUnsup);
  EXPECT_EQ(replies[1].type, kRepErrUnknown);
  EXPECT_NE(replies[1].data.find("other"), std::string::npos);
  EXPECT_EQ(replies[2].type, kRepErrUnsup);
  EXPECT_EQ(replies[3].type, kRepErrUnsup);
  EXPECT_EQ(hs.state(), Handshake::State::kOptionHeader);
}

TEST_F(HandshakeTest, ExportNameOldStyleEnding) {
  Handshake hs(&info_);
  const std::string out = Run(hs, Be32(kClientFlagFixedNewstyle) + Option(kOptExportName, "vol"));
  EXPECT_EQ(hs.state(), Handshake::State::kTransmission);
  ASSERT_EQ(out.size(), 10u + 124u);  // the client did not ask for NO_ZEROES
  EXPECT_EQ(GetBe64(reinterpret_cast<const uint8_t*>(out.data())), info_.size);
  Handshake unknown(&info_);
  EXPECT_TRUE(
      Run(unknown, Be32(kClientFlagFixedNewstyle) + Option(kOptExportName, "nope")).empty());
  EXPECT_EQ(unknown.state(), Handshake::State::kClosed);
  EXPECT_EQ(unknown.close_reason().code(), absl::StatusCode::kNotFound);
}

TEST_F(HandshakeTest, MalformedInput) {
  Handshake old_style(&info_);
  Run(old_style, Be32(0));
  EXPECT_EQ(old_style.state(), Handshake::State::kClosed);
  Handshake unknown_flags(&info_);
  Run(unknown_flags, Be32(kClientFlagFixedNewstyle | 0x100));
  EXPECT_EQ(unknown_flags.state(), Handshake::State::kClosed);
  Handshake bad_magic(&info_);
  std::string opt = Option(kOptList, "");
  opt[0] = 'X';
  Run(bad_magic, Be32(kClientFlagFixedNewstyle) + opt);
  EXPECT_EQ(bad_magic.state(), Handshake::State::kClosed);
  EXPECT_FALSE(bad_magic.close_reason().ok());
  // GO payloads whose lengths do not add up.
  Handshake bad_go(&info_);
  auto replies = ParseReplies(
      Run(bad_go, Be32(kClientFlagFixedNewstyle) + Option(kOptGo, Be32(1000) + "vol" + Be16(0)) +
                      Option(kOptGo, GoData("vol", {1}) + "x") + Option(kOptGo, "ab") +
                      Option(kOptList, "junk") + Option(kOptStructuredReply, "junk")));
  ASSERT_EQ(replies.size(), 5u);
  for (const auto& r : replies) {
    EXPECT_EQ(r.type, kRepErrInvalid);
  }
  EXPECT_FALSE(bad_go.structured_replies());
  EXPECT_EQ(bad_go.state(), Handshake::State::kOptionHeader);
}

TEST_F(HandshakeTest, OversizedOptionIsSkipped) {
  Handshake hs(&info_);
  std::string big(kMaxOptionBytes + 100, 'z');
  auto replies = ParseReplies(Run(hs, Be32(kClientFlagFixedNewstyle) + Option(kOptGo, big) +
                                          Option(kOptGo, GoData("vol", {}))));
  ASSERT_GE(replies.size(), 2u);
  EXPECT_EQ(replies[0].type, kRepErrTooBig);
  EXPECT_EQ(replies.back().type, kRepAck);
  EXPECT_EQ(hs.state(), Handshake::State::kTransmission);
}

TEST_F(HandshakeTest, Abort) {
  Handshake hs(&info_);
  auto replies = ParseReplies(Run(hs, Be32(kClientFlagFixedNewstyle) + Option(kOptAbort, "")));
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepAck);
  EXPECT_EQ(hs.state(), Handshake::State::kClosed);
  EXPECT_TRUE(hs.close_reason().ok());
}

TEST_F(HandshakeTest, ConfirmModeHoldsTheGoAckUntilConfirmed) {
  Handshake hs(&info_, /*confirm_export=*/true);
  const std::string client = Be32(kClientFlagFixedNewstyle) + Option(kOptList, "") +
                             Option(kOptInfo, GoData("vol", {})) +
                             Option(kOptGo, GoData("vol", {})) + "REQUESTS";
  size_t used = 0;
  auto replies = ParseReplies(Run(hs, client, &used));
  // LIST and INFO are answered in full; GO stops before its ACK.
  EXPECT_EQ(hs.state(), Handshake::State::kExportChosen);
  EXPECT_EQ(used, client.size() - 8);
  ASSERT_GE(replies.size(), 2u);
  EXPECT_EQ(replies.back().type, kRepInfo);
  EXPECT_EQ(replies.back().option, kOptGo);
  std::string out;
  // Consuming more does nothing until the server decides.
  EXPECT_EQ(hs.Consume(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>("REQUESTS"), 8), &out),
            0u);
  EXPECT_TRUE(out.empty());
  hs.ConfirmExport(&out);
  auto last = ParseReplies(out);
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].type, kRepAck);
  EXPECT_EQ(last[0].option, kOptGo);
  EXPECT_EQ(hs.state(), Handshake::State::kTransmission);
}

TEST_F(HandshakeTest, ConfirmModeRefusedGoLetsTheClientGoOn) {
  Handshake hs(&info_, /*confirm_export=*/true);
  Run(hs, Be32(kClientFlagFixedNewstyle) + Option(kOptGo, GoData("vol", {})));
  ASSERT_EQ(hs.state(), Handshake::State::kExportChosen);
  std::string out;
  hs.RefuseExport(absl::UnavailableError("login refused"), &out);
  auto replies = ParseReplies(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type, kRepErrShutdown);
  EXPECT_NE(replies[0].data.find("login refused"), std::string::npos);
  EXPECT_EQ(hs.state(), Handshake::State::kOptionHeader);
  out.clear();
  const std::string abort = Option(kOptAbort, "");
  hs.Consume(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(abort.data()), abort.size()),
             &out);
  EXPECT_EQ(hs.state(), Handshake::State::kClosed);
}

TEST_F(HandshakeTest, ConfirmModeExportName) {
  Handshake hs(&info_, /*confirm_export=*/true);
  std::string out =
      Run(hs, Be32(kClientFlagFixedNewstyle | kClientFlagNoZeroes) + Option(kOptExportName, "vol"));
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(hs.state(), Handshake::State::kExportChosen);
  hs.ConfirmExport(&out);
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(GetBe64(reinterpret_cast<const uint8_t*>(out.data())), info_.size);
  EXPECT_EQ(hs.state(), Handshake::State::kTransmission);

  Handshake refused(&info_, /*confirm_export=*/true);
  Run(refused, Be32(kClientFlagFixedNewstyle) + Option(kOptExportName, ""));
  out.clear();
  refused.RefuseExport(absl::UnavailableError("gone"), &out);
  EXPECT_TRUE(out.empty());  // EXPORT_NAME has no error reply
  EXPECT_EQ(refused.state(), Handshake::State::kClosed);
  EXPECT_FALSE(refused.close_reason().ok());
}

}  // namespace
}  // namespace isergw::nbd
