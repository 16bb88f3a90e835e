#include "iser_client/login/send_targets.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "iser_client/login/text_params.h"

namespace isergw::iscsi {
namespace {

using ::testing::ElementsAre;

TEST(TargetAddressTest, ParsesIpv4HostPortTag) {
  auto p = ParseTargetAddress("10.0.0.1:3261,7");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (TargetPortal{"10.0.0.1", 3261, 7}));
}

TEST(TargetAddressTest, ParsesIpv6InBrackets) {
  auto p = ParseTargetAddress("[::1]:3260,1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (TargetPortal{"::1", 3260, 1}));
  auto q = ParseTargetAddress("[fe80::2:3]");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(*q, (TargetPortal{"fe80::2:3", 3260, std::nullopt}));
  auto r = ParseTargetAddress("[2001:db8::5],12");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (TargetPortal{"2001:db8::5", 3260, 12}));
}

TEST(TargetAddressTest, DefaultsPortAndNoTag) {
  auto p = ParseTargetAddress("storage.example.com");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (TargetPortal{"storage.example.com", 3260, std::nullopt}));
  auto q = ParseTargetAddress("host,3");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, (TargetPortal{"host", 3260, 3}));
}

TEST(TargetAddressTest, RejectsMalformed) {
  for (const char* bad : {"", ":3260", "[::1", "[::1]x", "[::1]:", "::1:3260,1", "h:0", "h:65536",
                          "h:abc", "h:3260,x", "h:3260,70000", "h:", "h:-1", "[]:3260"}) {
    EXPECT_FALSE(ParseTargetAddress(bad).ok()) << bad;
  }
}

TEST(SendTargetsTest, GroupsAddressesUnderTheirTarget) {
  static constexpr char kText[] =
      "TargetName=iqn.2024-01.com.example:a\0"
      "TargetAddress=10.0.0.1:3260,1\0"
      "TargetAddress=[fd00::1]:3260,2\0"
      "TargetName=iqn.2024-01.com.example:b\0"
      "TargetName=iqn.2024-01.com.example:c\0"
      "TargetAddress=10.0.0.3,4\0";
  const std::string text(kText, sizeof(kText) - 1);
  auto targets = ParseSendTargets(text);
  ASSERT_TRUE(targets.ok()) << targets.status();
  EXPECT_THAT(*targets,
              ElementsAre(DiscoveredTarget{"iqn.2024-01.com.example:a",
                                           {{"10.0.0.1", 3260, 1}, {"fd00::1", 3260, 2}}},
                          DiscoveredTarget{"iqn.2024-01.com.example:b", {}},
                          DiscoveredTarget{"iqn.2024-01.com.example:c", {{"10.0.0.3", 3260, 4}}}));
}

TEST(SendTargetsTest, RejectsAddressBeforeNameAndBadAddress) {
  EXPECT_FALSE(ParseSendTargets(std::string("TargetAddress=1.2.3.4\0", 22)).ok());
  EXPECT_FALSE(ParseSendTargets(std::string("TargetName=iqn.a\0TargetAddress=[::1\0", 36)).ok());
  EXPECT_FALSE(ParseSendTargets(std::string("TargetName=\0", 12)).ok());
  EXPECT_FALSE(ParseSendTargets(std::string("TargetName=iqn.a", 16)).ok());
}

TEST(SendTargetsTest, EmptyAnswerMeansNoTargets) {
  auto targets = ParseSendTargets(std::string());
  ASSERT_TRUE(targets.ok());
  EXPECT_TRUE(targets->empty());
}

// A target with many LUN-less targets answers over several Text Response PDUs;
// the chunks split pairs anywhere.
TEST(SendTargetsTest, ManyTargetsOverSeveralChunks) {
  constexpr int kTargets = 400;
  std::string text;
  for (int i = 0; i < kTargets; ++i) {
    AppendPair(text, "TargetName", absl::StrCat("iqn.2024-01.com.example:disk", i));
    AppendPair(text, "TargetAddress", absl::StrCat("192.168.", i / 250, ".", i % 250, ":3260,1"));
    AppendPair(text, "TargetAddress", absl::StrCat("[fd00::", i, "]:3261,2"));
  }
  ASSERT_GT(text.size(), 8192u * 3);
  TextAccumulator acc;
  size_t chunks = 0;
  for (size_t off = 0; off < text.size(); off += 8191, ++chunks) {
    ASSERT_TRUE(acc.Append(absl::string_view(text).substr(off, 8191)).ok());
  }
  EXPECT_GT(chunks, 3u);
  auto targets = ParseSendTargets(acc.Take());
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), static_cast<size_t>(kTargets));
  for (int i = 0; i < kTargets; ++i) {
    const DiscoveredTarget& t = (*targets)[i];
    EXPECT_EQ(t.name, absl::StrCat("iqn.2024-01.com.example:disk", i));
    ASSERT_EQ(t.portals.size(), 2u);
    EXPECT_EQ(t.portals[0].host, absl::StrCat("192.168.", i / 250, ".", i % 250));
    EXPECT_EQ(t.portals[1], (TargetPortal{absl::StrCat("fd00::", i), 3261, 2}));
  }
}

}  // namespace
}  // namespace isergw::iscsi
