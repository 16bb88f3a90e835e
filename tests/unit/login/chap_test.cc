#include "iser_client/login/chap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

std::vector<uint8_t> Seq(uint8_t first, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}

// Expected values computed independently with
//   printf '\x01secret\x00\x11...\xff' | openssl md5
TEST(ChapMd5Test, KnownVectors) {
  std::vector<uint8_t> challenge;
  for (int i = 0; i < 16; ++i) challenge.push_back(static_cast<uint8_t>(i * 0x11));
  auto r = ChapMd5Response(1, "secret", challenge);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(EncodeChapHex(*r), "0x204bb003332f6932b63b47c2c4e1a547");

  auto r2 = ChapMd5Response(1, "secret", std::vector<uint8_t>{1, 2, 3});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(EncodeChapHex(*r2), "0x9067fecf94f4c5654f2d992d9b7ce3fd");

  auto r3 = ChapMd5Response(0x2a, "initiatorsecret", std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef});
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(EncodeChapHex(*r3), "0x31dd59b56480c5a6cfa8817c046bf89f");
}

TEST(ChapBinaryTest, DecodesHexAndBase64) {
  auto hex = DecodeChapBinary("0x0102FF");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(*hex, (std::vector<uint8_t>{1, 2, 0xff}));
  auto odd = DecodeChapBinary("0X102");  // leading zero nibble dropped
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(*odd, (std::vector<uint8_t>{0x01, 0x02}));
  auto b64 = DecodeChapBinary("0bAQID");
  ASSERT_TRUE(b64.ok());
  EXPECT_EQ(*b64, (std::vector<uint8_t>{1, 2, 3}));
  auto b64pad = DecodeChapBinary("0BAQI=");
  ASSERT_TRUE(b64pad.ok());
  EXPECT_EQ(*b64pad, (std::vector<uint8_t>{1, 2}));
}

TEST(ChapBinaryTest, RejectsMalformedAndOversized) {
  for (const char* bad : {"", "0x", "0b", "123", "0xZZ", "0x12g4", "0b!!!!", "0q12", "x12"}) {
    EXPECT_FALSE(DecodeChapBinary(bad).ok()) << bad;
  }
  EXPECT_TRUE(DecodeChapBinary("0x" + std::string(2048, 'a')).ok());   // 1024 bytes
  EXPECT_FALSE(DecodeChapBinary("0x" + std::string(2050, 'a')).ok());  // 1025 bytes
}

TEST(ChapInitiatorTest, OneWayResponse) {
  auto chap = ChapInitiator::Create({"alice", "secret", "", ""});
  ASSERT_TRUE(chap.ok()) << chap.status();
  EXPECT_EQ(chap->AlgorithmOffer(), (TextPairs{{"CHAP_A", "5"}}));
  auto out = chap->OnChallenge("5", "1", "0x010203");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            (TextPairs{{"CHAP_N", "alice"}, {"CHAP_R", "0x9067fecf94f4c5654f2d992d9b7ce3fd"}}));
}

TEST(ChapInitiatorTest, AcceptsBase64ChallengeAndHexIdentifier) {
  auto chap = ChapInitiator::Create({"alice", "secret", "", ""});
  ASSERT_TRUE(chap.ok());
  auto out = chap->OnChallenge("5", "0x01", "0bAQID");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[1].value, "0x9067fecf94f4c5654f2d992d9b7ce3fd");
}

TEST(ChapInitiatorTest, RefusesOtherAlgorithmsAndBadInput) {
  auto chap = ChapInitiator::Create({"alice", "secret", "", ""});
  ASSERT_TRUE(chap.ok());
  auto sha = chap->OnChallenge("7", "1", "0x010203");
  ASSERT_FALSE(sha.ok());
  EXPECT_EQ(sha.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(Msg(sha.status()), HasSubstr("only MD5 (5)"));
  EXPECT_FALSE(chap->OnChallenge("5", "256", "0x0102").ok());
  EXPECT_FALSE(chap->OnChallenge("5", "-1", "0x0102").ok());
  EXPECT_FALSE(chap->OnChallenge("5", "1", "0102").ok());
  EXPECT_FALSE(chap->OnChallenge("5", "1", "0x").ok());
  // The first valid challenge is answered; a second one is refused.
  ASSERT_TRUE(chap->OnChallenge("5", "1", "0x0102").ok());
  EXPECT_FALSE(chap->OnChallenge("5", "2", "0x0102").ok());
}

TEST(ChapInitiatorTest, ValidatesCredentials) {
  EXPECT_FALSE(ChapInitiator::Create({"", "secretsecret", "", ""}).ok());
  EXPECT_FALSE(ChapInitiator::Create({"alice", "", "", ""}).ok());
  auto same = ChapInitiator::Create({"alice", "samesecret12", "tgt", "samesecret12"});
  ASSERT_FALSE(same.ok());
  EXPECT_THAT(Msg(same.status()), HasSubstr("must differ"));
  EXPECT_FALSE(ChapInitiator::Create({"alice", "secretsecret", "tgt", ""}).ok());
  // Short secrets only warn.
  EXPECT_TRUE(ChapInitiator::Create({"alice", "short", "", ""}).ok());
}

class MutualChapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = ChapInitiator::Create({"alice", "initiatorsecret", "target", "targetsecret1"});
    ASSERT_TRUE(c.ok()) << c.status();
    chap_.emplace(*std::move(c));
    chap_->SetOwnChallengeForTesting(7, Seq(0x10, 16));
  }
  std::optional<ChapInitiator> chap_;
};

TEST_F(MutualChapTest, SendsOwnChallengeAndVerifiesTarget) {
  auto out = chap_->OnChallenge("5", "42", "0xdeadbeef");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (TextPairs{{"CHAP_N", "alice"},
                             {"CHAP_R", "0x31dd59b56480c5a6cfa8817c046bf89f"},
                             {"CHAP_I", "7"},
                             {"CHAP_C", "0x101112131415161718191a1b1c1d1e1f"}}));
  // MD5(0x07 || "targetsecret1" || 10..1f), from openssl md5.
  EXPECT_TRUE(chap_->VerifyTargetResponse("target", "0x7a79c6f4fe9ae2a32442cb1809295662").ok());
  EXPECT_TRUE(chap_->VerifyTargetResponse("target", "0x7A79C6F4FE9AE2A32442CB1809295662").ok());
}

TEST_F(MutualChapTest, RejectsWrongTargetResponse) {
  ASSERT_TRUE(chap_->OnChallenge("5", "42", "0xdeadbeef").ok());
  auto wrong = chap_->VerifyTargetResponse("target", "0x7a79c6f4fe9ae2a32442cb1809295663");
  EXPECT_EQ(wrong.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(wrong), HasSubstr("wrong"));
  EXPECT_FALSE(chap_->VerifyTargetResponse("target", "0x7a79c6f4fe9ae2a32442cb18092956").ok());
  EXPECT_FALSE(chap_->VerifyTargetResponse("target", "garbage").ok());
  auto name = chap_->VerifyTargetResponse("mallory", "0x7a79c6f4fe9ae2a32442cb1809295662");
  ASSERT_FALSE(name.ok());
  EXPECT_THAT(Msg(name), HasSubstr("mallory"));
  // The response to the target's challenge (with our secret) is not a valid proof.
  EXPECT_FALSE(chap_->VerifyTargetResponse("target", "0x31dd59b56480c5a6cfa8817c046bf89f").ok());
}

TEST_F(MutualChapTest, RefusesReflectedChallenge) {
  auto out = chap_->OnChallenge("5", "7", "0x101112131415161718191a1b1c1d1e1f");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(out.status()), HasSubstr("reflection"));
}

TEST(ChapInitiatorTest, MutualChallengeIsRandom) {
  auto a = ChapInitiator::Create({"alice", "initiatorsecret", "", "targetsecret1"});
  auto b = ChapInitiator::Create({"alice", "initiatorsecret", "", "targetsecret1"});
  ASSERT_TRUE(a.ok() && b.ok());
  auto ra = a->OnChallenge("5", "1", "0x01");
  auto rb = b->OnChallenge("5", "1", "0x01");
  ASSERT_TRUE(ra.ok() && rb.ok());
  ASSERT_EQ(ra->size(), 4u);
  const std::string& ca = (*ra)[3].value;
  EXPECT_EQ(ca.size(), 2 + 2 * kChapChallengeLength);
  EXPECT_NE(ca, (*rb)[3].value);
}

}  // namespace
}  // namespace isergw::iscsi
