#include "tools/doctor/rdma_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/doctor/fake_root.h"

namespace isergw::doctor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kLinkLocalGid[] = "fe80:0000:0000:0000:b8e1:c3ff:fe2a:0001";
constexpr char kIpv4Gid[] = "0000:0000:0000:0000:0000:ffff:c000:0201";  // 192.0.2.1

// An rxe device as the 6.12 kernel lays it out in sysfs.
void AddRxePort(FakeRoot& fake, const std::string& device, const std::string& netdev,
                const std::string& state, bool with_ipv4) {
  const std::string port = "/sys/class/infiniband/" + device + "/ports/1";
  fake.Write("/sys/class/infiniband/" + device + "/parent", netdev + "\n");
  fake.Write(port + "/state", state + "\n");
  fake.Write(port + "/phys_state", "5: LinkUp\n");
  fake.Write(port + "/link_layer", "Ethernet\n");
  fake.Write(port + "/gids/0", std::string(kLinkLocalGid) + "\n");
  fake.Write(port + "/gid_attrs/types/0", "IB/RoCE v1\n");
  fake.Write(port + "/gid_attrs/ndevs/0", netdev + "\n");
  fake.Write(port + "/gids/1", std::string(kLinkLocalGid) + "\n");
  fake.Write(port + "/gid_attrs/types/1", "RoCE v2\n");
  fake.Write(port + "/gid_attrs/ndevs/1", netdev + "\n");
  if (with_ipv4) {
    fake.Write(port + "/gids/2", "0000:0000:0000:0000:0000:ffff:c000:0201\n");
    fake.Write(port + "/gid_attrs/types/2", "IB/RoCE v1\n");
    fake.Write(port + "/gid_attrs/ndevs/2", netdev + "\n");
    fake.Write(port + "/gids/3", "0000:0000:0000:0000:0000:ffff:c000:0201\n");
    fake.Write(port + "/gid_attrs/types/3", "RoCE v2\n");
    fake.Write(port + "/gid_attrs/ndevs/3", netdev + "\n");
  }
  // Unused table entries: all zeros, and their type cannot be read.
  fake.Write(port + "/gids/10", "0000:0000:0000:0000:0000:0000:0000:0000\n");
  fake.Write("/sys/class/net/" + netdev + "/mtu", "1500\n");
  fake.Write("/sys/class/net/" + netdev + "/operstate", "up\n");
  fake.Write("/sys/class/net/" + netdev + "/type", "1\n");
}

TEST(GidTest, Ipv4MappedGidsOnly) {
  EXPECT_EQ(Ipv4OfGid(kIpv4Gid), "192.0.2.1");
  EXPECT_EQ(Ipv4OfGid("0000:0000:0000:0000:0000:ffff:0a00:00ff"), "10.0.0.255");
  EXPECT_EQ(Ipv4OfGid(kLinkLocalGid), std::nullopt);
  EXPECT_EQ(Ipv4OfGid("0000:0000:0000:0000:0001:ffff:c000:0201"), std::nullopt);
  EXPECT_EQ(Ipv4OfGid("0000:0000:0000:0000:0000:ffff:c000"), std::nullopt);
  EXPECT_EQ(Ipv4OfGid("0000:0000:0000:0000:0000:ffff:c000:zz01"), std::nullopt);
  EXPECT_EQ(Ipv4OfGid("0000:0000:0000:0000:0000:ffff:c000:00201"), std::nullopt);
  EXPECT_TRUE(IsZeroGid("0000:0000:0000:0000:0000:0000:0000:0000"));
  EXPECT_FALSE(IsZeroGid(kIpv4Gid));
}

TEST(SysfsEnumTest, StripsTheNumber) {
  EXPECT_EQ(SysfsEnumName("4: ACTIVE\n"), "ACTIVE");
  EXPECT_EQ(SysfsEnumName("1: DOWN"), "DOWN");
  EXPECT_EQ(SysfsEnumName("LinkUp"), "LinkUp");
}

TEST(ReadRdmaSysfsTest, ReadsPortsGidsAndNetdev) {
  FakeRoot fake;
  AddRxePort(fake, "rxe0", "veth0", "4: ACTIVE", true);
  std::vector<RdmaDeviceFacts> devices = ReadRdmaSysfs(fake.root());
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].name, "rxe0");
  ASSERT_EQ(devices[0].ports.size(), 1u);
  const RdmaPortFacts& port = devices[0].ports[0];
  EXPECT_EQ(port.port, 1);
  EXPECT_EQ(port.state, "ACTIVE");
  EXPECT_EQ(port.phys_state, "LinkUp");
  EXPECT_EQ(port.link_layer, "Ethernet");
  ASSERT_EQ(port.gids.size(), 4u);  // the zero entry is skipped
  EXPECT_EQ(port.gids[3].index, 3);
  EXPECT_EQ(port.gids[3].type, "RoCE v2");
  EXPECT_EQ(port.gids[3].gid, kIpv4Gid);
  ASSERT_TRUE(port.netdev.has_value());
  EXPECT_EQ(port.netdev->name, "veth0");
  EXPECT_EQ(port.netdev->mtu, 1500);
  EXPECT_EQ(port.netdev->operstate, "up");
}

TEST(RdmaPortTest, ActiveWithRoceV2Ipv4IsOkAndNamesNetdevAndMtu) {
  FakeRoot fake;
  AddRxePort(fake, "rxe0", "veth0", "4: ACTIVE", true);
  RdmaPortFacts port = ReadRdmaSysfs(fake.root())[0].ports[0];
  port.active_mtu = 1024;
  CheckResult r = DecideRdmaPort(port);
  EXPECT_EQ(r.check, "rdma rxe0/1");
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_THAT(r.detail, HasSubstr("ACTIVE"));
  // Only the RoCE v2 entry (index 3), not the v1 one with the same address.
  EXPECT_THAT(r.detail, HasSubstr("RoCE v2 192.0.2.1 (GID 3)"));
  EXPECT_THAT(r.detail, Not(HasSubstr("GID 2")));
  EXPECT_THAT(r.detail, HasSubstr("netdev veth0 MTU 1500"));
  EXPECT_THAT(r.detail, HasSubstr("RDMA MTU 1024"));
}

TEST(RdmaPortTest, DownPortSaysToBringTheNetdevUp) {
  FakeRoot fake;
  AddRxePort(fake, "rxe0", "eth3", "1: DOWN", true);
  fake.Write("/sys/class/net/eth3/operstate", "down\n");
  CheckResult r = DecideRdmaPort(ReadRdmaSysfs(fake.root())[0].ports[0]);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("port DOWN"));
  EXPECT_THAT(r.detail, HasSubstr("(down)"));
  EXPECT_THAT(r.fix, HasSubstr("ip link set eth3 up"));

  // Up, but its link is not: a cable to check rather than a command to type.
  fake.Write("/sys/class/net/eth3/operstate", "lowerlayerdown\n");
  r = DecideRdmaPort(ReadRdmaSysfs(fake.root())[0].ports[0]);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.fix, HasSubstr("eth3 is up but has no link (lowerlayerdown)"));
}

TEST(RdmaPortTest, NoIpv4GidSaysToAddAnAddress) {
  FakeRoot fake;
  AddRxePort(fake, "rxe0", "veth0", "4: ACTIVE", false);
  CheckResult r = DecideRdmaPort(ReadRdmaSysfs(fake.root())[0].ports[0]);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("no RoCE v2 GID with an IPv4 address"));
  EXPECT_THAT(r.fix, HasSubstr("ip addr add"));
  EXPECT_THAT(r.fix, HasSubstr("dev veth0"));
}

TEST(RdmaPortTest, NetdevFromGidsWithoutParentAttribute) {
  // A NIC: no `parent`, the netdev named by the GID table.
  FakeRoot fake;
  AddRxePort(fake, "mlx5_0", "enp1s0f0", "4: ACTIVE", true);
  std::filesystem::remove(fake.path() + "/sys/class/infiniband/mlx5_0/parent");
  RdmaPortFacts port = ReadRdmaSysfs(fake.root())[0].ports[0];
  ASSERT_TRUE(port.netdev.has_value());
  EXPECT_EQ(port.netdev->name, "enp1s0f0");
}

TEST(RdmaTest, NoDeviceSuggestsSoftRoceOnAnUpEthernetDevice) {
  FakeRoot fake;
  fake.Write("/sys/class/net/lo/type", "772\n");
  fake.Write("/sys/class/net/lo/operstate", "unknown\n");
  fake.Write("/sys/class/net/eth0/type", "1\n");
  fake.Write("/sys/class/net/eth0/operstate", "down\n");
  fake.Write("/sys/class/net/eth1/type", "1\n");
  fake.Write("/sys/class/net/eth1/operstate", "up\n");
  EXPECT_EQ(PickSoftRoceNetdev(fake.root()), "eth1");
  RdmaFacts facts = GatherRdmaFacts(fake.root(), "6.12.0-test");
  EXPECT_TRUE(facts.devices.empty());
  std::vector<CheckResult> results = DecideRdma(facts);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].check, "rdma");
  EXPECT_EQ(results[0].verdict, Verdict::kWarn);
  EXPECT_THAT(results[0].detail, HasSubstr("TCP works"));
  EXPECT_THAT(results[0].fix, HasSubstr("rdma link add rxe0 type rxe netdev eth1"));

  facts.rxe_module = ModuleState::kMissing;
  EXPECT_THAT(DecideRdma(facts)[0].fix, HasSubstr("no rdma_rxe"));
}

TEST(RdmaTest, DevicesWithMissingNodesAndProviders) {
  FakeRoot fake;
  AddRxePort(fake, "rxe0", "veth0", "4: ACTIVE", true);
  AddRxePort(fake, "rxe1", "veth1", "4: ACTIVE", true);
  RdmaFacts facts;
  facts.devices = ReadRdmaSysfs(fake.root());
  facts.devices[0].verbs_visible = true;
  facts.devices[1].verbs_visible = true;
  facts.uverbs_node = true;
  facts.rdma_cm_node = true;
  std::vector<CheckResult> results = DecideRdma(facts);
  ASSERT_EQ(results.size(), 4u);  // rdma, rdma_cm, rxe0/1, rxe1/1
  EXPECT_EQ(results[0].verdict, Verdict::kOk);
  EXPECT_THAT(results[0].detail, HasSubstr("2 RDMA devices: rxe0, rxe1"));
  EXPECT_EQ(results[1].check, "rdma_cm");
  EXPECT_EQ(results[1].verdict, Verdict::kOk);
  EXPECT_EQ(results[2].check, "rdma rxe0/1");
  EXPECT_EQ(results[3].check, "rdma rxe1/1");

  facts.rdma_cm_node = false;
  results = DecideRdma(facts);
  EXPECT_EQ(results[1].verdict, Verdict::kWarn);
  EXPECT_EQ(results[1].fix, "modprobe rdma_ucm");

  facts.devices[1].verbs_visible = false;
  results = DecideRdma(facts);
  EXPECT_EQ(results[0].verdict, Verdict::kWarn);
  EXPECT_THAT(results[0].detail, HasSubstr("does not list rxe1"));
  EXPECT_THAT(results[0].fix, HasSubstr("ibverbs-providers"));

  facts.uverbs_node = false;
  EXPECT_EQ(DecideRdma(facts)[0].fix, "modprobe ib_uverbs");
}

}  // namespace
}  // namespace isergw::doctor
