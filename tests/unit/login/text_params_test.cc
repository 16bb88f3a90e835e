#include "iser_client/login/text_params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace isergw::iscsi {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string T(const char* s, size_t n) { return std::string(s, n); }

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

TEST(ParseTextTest, ParsesPairsInOrder) {
  auto pairs = ParseText(T("InitiatorName=iqn.x\0AuthMethod=CHAP,None\0", 42));
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_THAT(*pairs,
              ElementsAre(TextPair{"InitiatorName", "iqn.x"}, TextPair{"AuthMethod", "CHAP,None"}));
}

TEST(ParseTextTest, ValueKeepsEqualsSigns) {
  auto pairs = ParseText(T("CHAP_C=0bAQID==\0", 16));
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_THAT(*pairs, ElementsAre(TextPair{"CHAP_C", "0bAQID=="}));
}

TEST(ParseTextTest, EmptyValueAndEmptyInput) {
  auto pairs = ParseText(T("TargetAlias=\0", 13));
  ASSERT_TRUE(pairs.ok());
  EXPECT_THAT(*pairs, ElementsAre(TextPair{"TargetAlias", ""}));
  auto none = ParseText(std::string());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ParseTextTest, SkipsPaddingNuls) {
  auto pairs = ParseText(T("A=1\0\0\0B=2\0\0", 11));
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_THAT(*pairs, ElementsAre(TextPair{"A", "1"}, TextPair{"B", "2"}));
}

TEST(ParseTextTest, RejectsMissingEquals) {
  auto pairs = ParseText(T("A=1\0Broken\0", 11));
  ASSERT_FALSE(pairs.ok());
  EXPECT_THAT(Msg(pairs.status()), HasSubstr("Broken"));
  EXPECT_THAT(Msg(pairs.status()), HasSubstr("no '='"));
}

TEST(ParseTextTest, RejectsUnterminatedLastPairWithoutOverread) {
  // Exactly-sized heap buffer: reading one byte past it would be caught by ASan.
  const std::string s = "A=1";
  std::vector<uint8_t> buf(s.begin(), s.end());
  auto pairs = ParseText(std::span<const uint8_t>(buf));
  ASSERT_FALSE(pairs.ok());
  EXPECT_THAT(Msg(pairs.status()), HasSubstr("not NUL-terminated"));
}

TEST(ParseTextTest, KeyNameLimits) {
  const std::string k63(63, 'K');
  const std::string k64(64, 'K');
  EXPECT_TRUE(ParseText(k63 + "=v" + std::string(1, '\0')).ok());
  auto too_long = ParseText(k64 + "=v" + std::string(1, '\0'));
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(Msg(too_long.status()), HasSubstr("invalid key name"));
  EXPECT_FALSE(ParseText(T("=v\0", 3)).ok());
  EXPECT_FALSE(ParseText(T("Bad Key=v\0", 10)).ok());
  EXPECT_FALSE(ParseText(T("Bad\x01=v\0", 7)).ok());
  EXPECT_TRUE(ParseText(T("X-com.example+a@b_c-1=v\0", 24)).ok());
}

TEST(ParseTextTest, ValueLengthLimits) {
  const std::string nul(1, '\0');
  EXPECT_TRUE(ParseText("TargetAlias=" + std::string(255, 'a') + nul).ok());
  auto too_long = ParseText("TargetAlias=" + std::string(256, 'a') + nul);
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(Msg(too_long.status()), HasSubstr("TargetAlias"));
  // CHAP_C/CHAP_R carry large binary values.
  EXPECT_TRUE(ParseText("CHAP_C=0x" + std::string(8190, 'a') + nul).ok());
  EXPECT_FALSE(ParseText("CHAP_C=0x" + std::string(8191, 'a') + nul).ok());
  EXPECT_FALSE(ParseText("CHAP_N=" + std::string(256, 'a') + nul).ok());
}

TEST(ParseTextTest, DuplicateKeys) {
  const std::string text = T("TargetName=a\0TargetName=b\0", 26);
  auto strict = ParseText(text);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(Msg(strict.status()), HasSubstr("TargetName sent twice"));
  TextParseOptions lenient;
  lenient.reject_duplicate_keys = false;
  auto pairs = ParseText(text, lenient);
  ASSERT_TRUE(pairs.ok());
  EXPECT_EQ(pairs->size(), 2u);
}

TEST(SerializeTextTest, RoundTrips) {
  const TextPairs pairs = {{"HeaderDigest", "CRC32C,None"}, {"MaxBurstLength", "262144"}};
  const std::string bytes = SerializeText(pairs);
  EXPECT_EQ(bytes, T("HeaderDigest=CRC32C,None\0MaxBurstLength=262144\0", 47));
  auto parsed = ParseText(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, pairs);
  ASSERT_NE(FindValue(pairs, "MaxBurstLength"), nullptr);
  EXPECT_EQ(*FindValue(pairs, "MaxBurstLength"), "262144");
  EXPECT_EQ(FindValue(pairs, "DataDigest"), nullptr);
}

TEST(TextAccumulatorTest, JoinsPairSplitAcrossPdus) {
  TextAccumulator acc;
  ASSERT_TRUE(acc.Append(std::string("TargetNa")).ok());
  ASSERT_TRUE(acc.Append(T("me=iqn.t\0Targ", 13)).ok());
  ASSERT_TRUE(acc.Append(T("etAddress=1.2.3.4\0", 18)).ok());
  const std::string joined = acc.Take();
  EXPECT_TRUE(acc.empty());
  auto pairs = ParseText(joined);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_THAT(*pairs,
              ElementsAre(TextPair{"TargetName", "iqn.t"}, TextPair{"TargetAddress", "1.2.3.4"}));
}

TEST(TextAccumulatorTest, EnforcesCap) {
  TextAccumulator acc(100);
  ASSERT_TRUE(acc.Append(std::string(60, 'a')).ok());
  ASSERT_TRUE(acc.Append(std::string(40, 'b')).ok());
  const absl::Status s = acc.Append(std::string(1, 'c'));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(acc.size(), 100u);  // the refused segment was not kept
  acc.Reset();
  EXPECT_TRUE(acc.Append(std::string(100, 'd')).ok());
  EXPECT_FALSE(TextAccumulator(10).Append(std::string(11, 'e')).ok());
}

}  // namespace
}  // namespace isergw::iscsi
