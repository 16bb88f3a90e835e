// Discovery (SendTargets=All) against tgtd: every target and its portal is
// listed, also when the answer needs many Text responses.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "iser_client/client/initiator.h"
#include "iser_client/config/exit_codes.h"
#include "tests/integration/it_support.h"

namespace isergw::testing {
namespace {

iscsi::InitiatorOptions DiscoveryOptions(const Tgtd& tgtd) {
  iscsi::InitiatorOptions options = OptionsFor(tgtd, "");
  return options;
}

const iscsi::DiscoveredTarget* FindTarget(const std::vector<iscsi::DiscoveredTarget>& targets,
                                          const std::string& name) {
  for (const auto& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

TEST(DiscoveryTest, ListsTargetsAndPortals) {
  Tgtd tgtd;
  ASSERT_TRUE(tgtd.Start().ok());
  const std::vector<std::string> names = {"iqn.2024-01.org.isergw.test:alpha",
                                          "iqn.2024-01.org.isergw.test:beta",
                                          "iqn.2024-01.org.isergw.test:gamma"};
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(tgtd.AddTarget(static_cast<int>(i + 1), names[i]).ok());
    ASSERT_TRUE(tgtd.AllowAll(static_cast<int>(i + 1)).ok());
  }
  auto loop = NewLoop();
  DrainOnExit drain{loop.get()};
  auto initiator = iscsi::Initiator::Login(loop.get(), DiscoveryOptions(tgtd));
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  auto targets = (*initiator)->SendTargets();
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), names.size());
  for (const auto& name : names) {
    const iscsi::DiscoveredTarget* t = FindTarget(*targets, name);
    ASSERT_NE(t, nullptr) << name << " missing";
    ASSERT_EQ(t->portals.size(), 1u) << name;
    EXPECT_EQ(t->portals[0].host, "127.0.0.1");
    EXPECT_EQ(t->portals[0].port, tgtd.port());
    EXPECT_EQ(t->portals[0].portal_group_tag, std::optional<uint16_t>(1));
  }
  EXPECT_TRUE((*initiator)->Logout().ok());
}

// tgtd lists only the targets the initiator may log in to.
TEST(DiscoveryTest, TargetClosedToUsIsNotListed) {
  Tgtd tgtd;
  ASSERT_TRUE(tgtd.Start().ok());
  ASSERT_TRUE(tgtd.AddTarget(1, "iqn.2024-01.org.isergw.test:open").ok());
  ASSERT_TRUE(tgtd.AllowAll(1).ok());
  ASSERT_TRUE(tgtd.AddTarget(2, "iqn.2024-01.org.isergw.test:closed").ok());
  auto loop = NewLoop();
  DrainOnExit drain{loop.get()};
  auto initiator = iscsi::Initiator::Login(loop.get(), DiscoveryOptions(tgtd));
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  auto targets = (*initiator)->SendTargets();
  ASSERT_TRUE(targets.ok()) << targets.status();
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ((*targets)[0].name, "iqn.2024-01.org.isergw.test:open");
}

// 40 targets with names near the 223-byte limit make an answer of ~10 KB;
// with MaxRecvDataSegmentLength=512 declared, tgtd must send it in 20+ Text
// responses with the C bit, and the initiator must ask for each.
TEST(DiscoveryTest, LongAnswerSplitOverManyTextResponses) {
  Tgtd tgtd;
  ASSERT_TRUE(tgtd.Start().ok());
  constexpr int kTargets = 40;
  std::vector<std::string> names;
  size_t answer_bytes = 0;
  for (int i = 0; i < kTargets; ++i) {
    std::string name = absl::StrFormat("iqn.2024-01.org.isergw.test:long-name-%03d-", i);
    while (name.size() < 220) name += static_cast<char>('a' + (name.size() + i) % 26);
    names.push_back(name);
    ASSERT_TRUE(tgtd.AddTarget(i + 1, name).ok()) << tgtd.last_output();
    ASSERT_TRUE(tgtd.AllowAll(i + 1).ok());
    answer_bytes += name.size() + sizeof("TargetName=") +
                    absl::StrCat("TargetAddress=127.0.0.1:", tgtd.port(), ",1").size() + 1;
  }
  auto loop = NewLoop();
  DrainOnExit drain{loop.get()};
  iscsi::InitiatorOptions options = DiscoveryOptions(tgtd);
  options.session.login.negotiation.max_recv_data_segment_length = 512;
  auto initiator = iscsi::Initiator::Login(loop.get(), std::move(options));
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  ASSERT_EQ((*initiator)->session().params().MaxRecvDataSegmentLength(), 512u);

  const uint64_t pdus_before = (*initiator)->session().transport()->stats().pdus_received;
  auto targets = (*initiator)->SendTargets();
  const uint64_t pdus_after = (*initiator)->session().transport()->stats().pdus_received;
  ASSERT_TRUE(targets.ok()) << targets.status();
  // The answer cannot have come in fewer 512-byte responses than this.
  EXPECT_GE(pdus_after - pdus_before, answer_bytes / 512);
  ASSERT_EQ(targets->size(), names.size());
  for (const auto& name : names) {
    const iscsi::DiscoveredTarget* t = FindTarget(*targets, name);
    ASSERT_NE(t, nullptr) << name << " missing or cut at a response boundary";
    ASSERT_EQ(t->portals.size(), 1u) << name;
    EXPECT_EQ(t->portals[0].port, tgtd.port());
  }
}

TEST(DiscoveryTest, RefusedPortIsConnectionRefused) {
  auto loop = NewLoop();
  DrainOnExit drain{loop.get()};
  iscsi::InitiatorOptions options;
  options.endpoint = iscsi::Endpoint{"127.0.0.1", FreeTcpPort()};
  options.initiator_name = kInitiatorName;
  auto initiator = iscsi::Initiator::Login(loop.get(), std::move(options));
  ASSERT_FALSE(initiator.ok());
  EXPECT_EQ(iscsi::GetFailureKind(initiator.status()), iscsi::FailureKind::kConnectionRefused)
      << initiator.status();
}

}  // namespace
}  // namespace isergw::testing
