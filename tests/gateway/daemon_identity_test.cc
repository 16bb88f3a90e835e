// The daemon attaching recorded volumes again (after a restart or reboot)
// checks that the LUN at the recorded address is the one the volume was
// attached to: a re-provisioned target must not receive the old volume's
// writes. Against tgtd; this machine has no ublk, so a volume that passes
// the check waits for its device, one that fails it is listed as failed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
#include "gateway/control_socket.h"
#include "gateway/daemon.h"
#include "gateway/state_file.h"
#include "tests/integration/it_support.h"

namespace isergw::gateway {
namespace {

TEST(DaemonIdentityTest, ARecordedVolumeIsNotAttachedToADifferentLun) {
  auto target = testing::StartTargetWithLun(8 << 20);
  ASSERT_TRUE(target.ok()) << target.status();
  // LUN 2: another disk behind the same target.
  const std::string other = testing::MakeBackingFile("other.img", 8 << 20);
  ASSERT_TRUE(target->tgtd->AddFileLun(1, 2, other).ok());

  char pattern[] = "/tmp/isergw-identity-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  DaemonOptions options;
  options.socket_path = dir + "/control.sock";
  options.state_dir = dir + "/state";
  options.config_dir = dir + "/etc";
  options.links_root = dir + "/dev";

  // What the daemon recorded when it attached LUN 1: its identity. LUN 1's
  // record names LUN 1 (the same disk); "moved" says LUN 2 but carries LUN
  // 1's identity, as if the target had been re-provisioned under it.
  const std::string lun1_url = target->tgtd->Url(target->iqn, 1);
  const std::string lun2_url = target->tgtd->Url(target->iqn, 2);
  auto loop = testing::NewLoop();
  auto initiator =
      iscsi::Initiator::Login(loop.get(), testing::OptionsFor(*target->tgtd, target->iqn));
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  auto lun1 = iscsi::ProbeLun(**initiator, 1);
  ASSERT_TRUE(lun1.ok()) << lun1.status();
  (void)(*initiator)->Logout();
  ASSERT_FALSE(lun1->wwn.empty() && lun1->serial.empty()) << "tgtd reports no identity";

  DaemonState state;
  state.boot_id = "an-earlier-boot";
  VolumeSpec same;
  same.name = "same";
  same.url = lun1_url;
  same.persist = true;
  same.lun_serial = lun1->serial;
  same.lun_wwn = lun1->wwn;
  VolumeSpec moved = same;
  moved.name = "moved";
  moved.url = lun2_url;
  state.volumes = {{same, std::nullopt}, {moved, std::nullopt}};
  std::filesystem::create_directories(options.state_dir);
  ASSERT_TRUE(SaveState(options.state_dir + "/volumes.json", state).ok());

  auto daemon = Daemon::Start(options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  const nlohmann::json list = (*daemon)->Handle({{"op", "list"}});
  ASSERT_EQ(list["volumes"].size(), 2u) << list.dump();
  for (const nlohmann::json& v : list["volumes"]) {
    const std::string error = v.value("error", "");
    if (v["name"] == "moved") {
      EXPECT_EQ(v["state"], "failed") << v.dump();
      EXPECT_NE(error.find("a different LUN answers at 127.0.0.1:"), std::string::npos) << error;
      EXPECT_FALSE(v.contains("attempts")) << "a different LUN is not waited for";
    } else {
      // The right LUN: it passed the check and failed only for want of
      // ublk here, so it waits for it.
      EXPECT_EQ(v["state"], "waiting") << v.dump();
      EXPECT_EQ(error.find("different LUN"), std::string::npos) << error;
    }
  }
  EXPECT_EQ(testing::ReadFileBytes(other, 0, 8 << 20), std::vector<uint8_t>(8 << 20, 0));
  daemon->reset();
  std::filesystem::remove_all(dir);
  testing::RemoveBackingFile(other);
}

}  // namespace
}  // namespace isergw::gateway
