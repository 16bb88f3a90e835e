#include "tools/doctor/kernel_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/doctor/fake_root.h"
#include "ublk/uapi.h"

namespace isergw::doctor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRelease[] = "6.12.0-test";

TEST(ModuleListedTest, FindsCompressedModulesAndTreatsDashAsUnderscore) {
  const std::string dep =
      "kernel/drivers/block/ublk_drv.ko.xz:\n"
      "kernel/drivers/infiniband/sw/rxe/rdma_rxe.ko.zst: "
      "kernel/drivers/infiniband/core/ib_uverbs.ko\n"
      "kernel/drivers/net/foo-bar.ko:\n";
  EXPECT_TRUE(ModuleListed(dep, "ublk_drv"));
  EXPECT_TRUE(ModuleListed(dep, "rdma_rxe"));
  EXPECT_TRUE(ModuleListed(dep, "foo_bar"));
  EXPECT_TRUE(ModuleListed(dep, "foo-bar"));
  // A dependency is not a module of its own line, and names must match whole.
  EXPECT_FALSE(ModuleListed(dep, "ib_uverbs"));
  EXPECT_FALSE(ModuleListed(dep, "ublk"));
  EXPECT_FALSE(ModuleListed(dep, "nbd"));
  EXPECT_FALSE(ModuleListed("", "nbd"));
}

TEST(FindModuleTest, LoadedBuiltinAvailableMissingUnknown) {
  FakeRoot fake;
  EXPECT_EQ(FindModule(fake.root(), kRelease, "nbd"), ModuleState::kUnknown);
  fake.Write(std::string("/lib/modules/") + kRelease + "/modules.dep",
             "kernel/drivers/block/nbd.ko.xz:\n");
  fake.Write(std::string("/lib/modules/") + kRelease + "/modules.builtin",
             "kernel/drivers/block/loop.ko\n");
  EXPECT_EQ(FindModule(fake.root(), kRelease, "nbd"), ModuleState::kAvailable);
  EXPECT_EQ(FindModule(fake.root(), kRelease, "loop"), ModuleState::kBuiltin);
  EXPECT_EQ(FindModule(fake.root(), kRelease, "ublk_drv"), ModuleState::kMissing);
  fake.MakeDir("/sys/module/nbd");
  EXPECT_EQ(FindModule(fake.root(), kRelease, "nbd"), ModuleState::kLoaded);
}

TEST(UblkTest, NotLoadedButAvailableFailsWithModprobe) {
  FakeRoot fake;
  fake.Write(std::string("/lib/modules/") + kRelease + "/modules.dep",
             "kernel/drivers/block/ublk_drv.ko.xz:\n");
  UblkFacts facts = GatherUblkFacts(fake.root(), kRelease);
  EXPECT_FALSE(facts.control_node);
  EXPECT_EQ(facts.module, ModuleState::kAvailable);
  CheckResult r = DecideUblk(facts);
  EXPECT_EQ(r.check, "ublk");
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_THAT(r.detail, HasSubstr("not loaded"));
  EXPECT_THAT(r.fix, HasSubstr("modprobe ublk_drv"));
}

TEST(UblkTest, KernelWithoutUblkSaysWhichKernelToUse) {
  FakeRoot fake;
  fake.Write(std::string("/lib/modules/") + kRelease + "/modules.dep",
             "kernel/drivers/block/nbd.ko:\n");
  CheckResult r = DecideUblk(GatherUblkFacts(fake.root(), kRelease));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_THAT(r.detail, HasSubstr(kRelease));
  EXPECT_THAT(r.fix, HasSubstr("CONFIG_BLK_DEV_UBLK"));
  EXPECT_THAT(r.fix, Not(HasSubstr("modprobe")));
}

TEST(UblkTest, LoadedWithoutDeviceNodePointsAtDevtmpfs) {
  FakeRoot fake;
  fake.MakeDir("/sys/module/ublk_drv");
  CheckResult r = DecideUblk(GatherUblkFacts(fake.root(), kRelease));
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_THAT(r.fix, HasSubstr("devtmpfs"));
}

TEST(UblkTest, FeaturesAreNamedAndRecoveryIsRequired) {
  UblkFacts facts;
  facts.control_node = true;
  facts.module = ModuleState::kLoaded;
  facts.query = UblkFacts::Query::kAnswered;
  facts.features_known = true;
  facts.features = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE | UBLK_F_CMD_IOCTL_ENCODE;
  CheckResult r = DecideUblk(facts);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_THAT(r.detail, HasSubstr("USER_RECOVERY USER_RECOVERY_REISSUE CMD_IOCTL_ENCODE"));
  EXPECT_TRUE(r.fix.empty());

  facts.features = UBLK_F_CMD_IOCTL_ENCODE;
  r = DecideUblk(facts);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("no USER_RECOVERY"));
  EXPECT_FALSE(r.fix.empty());
}

TEST(UblkTest, OldKernelWithoutGetFeaturesIsFine) {
  UblkFacts facts;
  facts.control_node = true;
  facts.query = UblkFacts::Query::kAnswered;
  facts.features_known = false;
  CheckResult r = DecideUblk(facts);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_THAT(r.detail, HasSubstr("GET_FEATURES"));
}

TEST(UblkTest, PermissionDeniedWarnsToRunAsRoot) {
  UblkFacts facts;
  facts.control_node = true;
  facts.query = UblkFacts::Query::kPermissionDenied;
  CheckResult r = DecideUblk(facts);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.fix, HasSubstr("root"));
}

TEST(UblkTest, FeatureNames) {
  EXPECT_EQ(UblkFeatureNames(0), "none");
  EXPECT_EQ(UblkFeatureNames(1), "SUPPORT_ZERO_COPY");
  EXPECT_EQ(UblkFeatureNames(UBLK_F_USER_COPY | (uint64_t{1} << 40)), "USER_COPY bit 40");
}

TEST(IoUringTest, WorkingRingIsOk) {
  IoUringFacts facts;
  facts.disabled_sysctl = "0";
  CheckResult r = DecideIoUring(facts);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_THAT(r.detail, HasSubstr("kernel.io_uring_disabled = 0"));
}

TEST(IoUringTest, DisabledBySysctlSaysHowToEnable) {
  IoUringFacts facts;
  facts.disabled_sysctl = "2";
  facts.setup_error = EPERM;
  facts.privileged = true;
  CheckResult r = DecideIoUring(facts);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_THAT(r.fix, HasSubstr("sysctl -w kernel.io_uring_disabled=0"));

  facts.disabled_sysctl = "1";
  facts.privileged = false;
  r = DecideIoUring(facts);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_THAT(r.fix, HasSubstr("io_uring_group"));
}

TEST(IoUringTest, KernelWithoutIoUring) {
  IoUringFacts facts;
  facts.setup_error = ENOSYS;
  CheckResult r = DecideIoUring(facts);
  EXPECT_EQ(r.verdict, Verdict::kFail);
  EXPECT_THAT(r.detail, HasSubstr("no kernel.io_uring_disabled sysctl"));
  EXPECT_THAT(r.fix, HasSubstr("CONFIG_IO_URING"));
}

TEST(IoUringTest, GatherReadsTheSysctlAndSetsUpARing) {
  // The build host runs isergw's own io_uring tests, so a ring must work.
  FakeRoot fake;
  fake.Write("/proc/sys/kernel/io_uring_disabled", "0\n");
  IoUringFacts facts = GatherIoUringFacts(fake.root(), true);
  EXPECT_EQ(facts.disabled_sysctl, "0");
  EXPECT_EQ(facts.setup_error, 0);
}

TEST(NbdTest, DeviceNodeModuleAndMissingKernelSupport) {
  FakeRoot fake;
  fake.Write(std::string("/lib/modules/") + kRelease + "/modules.dep",
             "kernel/drivers/block/nbd.ko.xz:\n");
  CheckResult r = DecideNbd(GatherNbdFacts(fake.root(), kRelease));
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.fix, HasSubstr("modprobe nbd"));

  fake.Write("/dev/nbd0", "");
  r = DecideNbd(GatherNbdFacts(fake.root(), kRelease));
  EXPECT_EQ(r.verdict, Verdict::kOk);

  NbdFacts missing;
  missing.module = ModuleState::kMissing;
  missing.kernel_release = kRelease;
  r = DecideNbd(missing);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.fix, HasSubstr("CONFIG_BLK_DEV_NBD"));
}

}  // namespace
}  // namespace isergw::doctor
