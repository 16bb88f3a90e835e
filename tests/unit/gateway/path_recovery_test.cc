#include "gateway/path_recovery.h"

#include <gtest/gtest.h>

#include "iser_client/config/exit_codes.h"

namespace isergw::gateway {
namespace {

TEST(ReconnectDelayTest, FirstAttemptAtOnceThenDoublingToFiveSeconds) {
  EXPECT_EQ(ReconnectDelay(0), absl::ZeroDuration());
  EXPECT_EQ(ReconnectDelay(1), absl::Milliseconds(500));
  EXPECT_EQ(ReconnectDelay(2), absl::Seconds(1));
  EXPECT_EQ(ReconnectDelay(3), absl::Seconds(2));
  EXPECT_EQ(ReconnectDelay(4), absl::Seconds(4));
  EXPECT_EQ(ReconnectDelay(5), absl::Seconds(5));
  EXPECT_EQ(ReconnectDelay(1000), absl::Seconds(5));
}

TEST(FirstPortalIndexTest, SpreadTakesPortalsInTurn) {
  EXPECT_EQ(FirstPortalIndex(3, 2, false), 0u);
  EXPECT_EQ(FirstPortalIndex(0, 2, true), 0u);
  EXPECT_EQ(FirstPortalIndex(1, 2, true), 1u);
  EXPECT_EQ(FirstPortalIndex(5, 3, true), 2u);
  EXPECT_EQ(FirstPortalIndex(5, 0, true), 0u);
}

TEST(PortalListTest, ParsesHostsPortsAndIpv6) {
  auto portals = ParsePortalList("192.0.2.1, 192.0.2.2:3261,[2001:db8::1]:3262");
  ASSERT_TRUE(portals.ok()) << portals.status();
  ASSERT_EQ(portals->size(), 3u);
  EXPECT_EQ((*portals)[0].host, "192.0.2.1");
  EXPECT_EQ((*portals)[0].port, 3260);
  EXPECT_EQ((*portals)[1].port, 3261);
  EXPECT_EQ((*portals)[2].host, "2001:db8::1");
  EXPECT_EQ(FormatPortalList(*portals), "192.0.2.1:3260,192.0.2.2:3261,[2001:db8::1]:3262");
  auto bound = ParsePortalList("192.0.2.1@veth1,[2001:db8::1]:3262@ib0");
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ((*bound)[0].iface, "veth1");
  EXPECT_EQ((*bound)[1].host, "2001:db8::1");
  EXPECT_EQ((*bound)[1].iface, "ib0");
  EXPECT_EQ(FormatPortalList(*bound), "192.0.2.1:3260@veth1,[2001:db8::1]:3262@ib0");
  auto none = ParsePortalList("  ");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(PortalListTest, RefusesEmptyEntriesAndBadPorts) {
  for (const char* bad : {"192.0.2.1,,192.0.2.2", "192.0.2.1,", "host:99999", "host:abc",
                          "192.0.2.1@", "192.0.2.1@a/b", "192.0.2.1@averyveryverylongname"}) {
    auto portals = ParsePortalList(bad);
    ASSERT_FALSE(portals.ok()) << bad;
    EXPECT_EQ(iscsi::ExitCodeFor(portals.status()), iscsi::ExitCode::kInvalidArgument) << bad;
  }
}

TEST(CheckSameLunTest, SameIdentityPasses) {
  const LunIdentity lun{"beaf10", "naa.6001405abcdef"};
  EXPECT_TRUE(CheckSameLun(lun, lun, "192.0.2.1:3260").ok());
  // What the LUN did not report at attach is not compared.
  EXPECT_TRUE(CheckSameLun({"", "naa.6001405abcdef"}, {"other", "naa.6001405abcdef"}, "p").ok());
  EXPECT_TRUE(CheckSameLun({"", ""}, {"x", "y"}, "p").ok());
}

TEST(CheckSameLunTest, ADifferentWwnOrSerialStopsWithBothNamed) {
  const LunIdentity lun{"beaf10", "naa.6001405abcdef"};
  absl::Status wwn = CheckSameLun(lun, {"beaf10", "naa.600140500000"}, "192.0.2.1:3260");
  ASSERT_FALSE(wwn.ok());
  EXPECT_NE(wwn.message().find("a different LUN answers at 192.0.2.1:3260"), std::string::npos);
  EXPECT_NE(wwn.message().find("naa.6001405abcdef"), std::string::npos);
  EXPECT_NE(wwn.message().find("naa.600140500000"), std::string::npos);
  absl::Status serial = CheckSameLun(lun, {"beaf11", "naa.6001405abcdef"}, "p");
  ASSERT_FALSE(serial.ok());
  EXPECT_NE(serial.message().find("serial is 'beaf11'"), std::string::npos);
  // A LUN that no longer reports an identity is not the same one either.
  EXPECT_FALSE(CheckSameLun(lun, {"", ""}, "p").ok());
}

}  // namespace
}  // namespace isergw::gateway
