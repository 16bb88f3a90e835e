#include "gateway/device_links.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "gateway/device_users.h"

namespace isergw::gateway {
namespace {

class DeviceLinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/isergw-links-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

iscsi::ParsedUrl IscsiUrl() {
  auto url = iscsi::ParseUrl("iser://192.0.2.1:3260/iqn.2026-11.example:vol1/2");
  EXPECT_TRUE(url.ok());
  return *url;
}

TEST_F(DeviceLinksTest, OpenIscsiByPathByIdAndName) {
  auto links = DeviceLinksFor(root_, "vol1", IscsiUrl(), "naa.6001405abcdef", 7);
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].path,
            root_ + "/disk/by-path/ip-192.0.2.1:3260-iscsi-iqn.2026-11.example:vol1-lun-2");
  EXPECT_EQ(links[0].target, "../../ublkb7");
  EXPECT_EQ(links[1].path, root_ + "/disk/by-id/wwn-0x6001405abcdef");
  EXPECT_EQ(links[2].path, root_ + "/isergw/vol1");
  EXPECT_EQ(links[2].target, "../ublkb7");
}

TEST_F(DeviceLinksTest, FilesGetOnlyTheirName) {
  auto url = iscsi::ParseUrl("file:///srv/disk.img");
  ASSERT_TRUE(url.ok());
  auto links = DeviceLinksFor(root_, "disk", *url, "", 0);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].path, root_ + "/isergw/disk");
}

TEST_F(DeviceLinksTest, CreateReplacesStaleLinksAndRemoveLeavesOthers) {
  auto links = DeviceLinksFor(root_, "vol1", IscsiUrl(), "", 1);
  std::filesystem::create_directories(root_ + "/isergw");
  ASSERT_EQ(symlink("../ublkb9", (root_ + "/isergw/vol1").c_str()), 0);
  ASSERT_TRUE(CreateDeviceLinks(links).ok());
  EXPECT_EQ(std::filesystem::read_symlink(root_ + "/isergw/vol1"), "../ublkb1");

  // Another volume took the name meanwhile: removal leaves its link.
  auto other = DeviceLinksFor(root_, "vol1", IscsiUrl(), "", 4);
  ASSERT_TRUE(CreateDeviceLinks(other).ok());
  RemoveDeviceLinks(links);
  EXPECT_EQ(std::filesystem::read_symlink(root_ + "/isergw/vol1"), "../ublkb4");
  RemoveDeviceLinks(other);
  EXPECT_FALSE(std::filesystem::is_symlink(root_ + "/isergw/vol1"));
  EXPECT_FALSE(std::filesystem::is_symlink(links[0].path));
}

TEST(DeviceUsersTest, MountPointFromMountinfo) {
  const char* mountinfo =
      "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "36 22 259:3 / /mnt/data rw,relatime shared:9 - xfs /dev/ublkb0 rw\n";
  EXPECT_EQ(MountPointIn(mountinfo, "259:3"), "/mnt/data");
  EXPECT_EQ(MountPointIn(mountinfo, "259:30"), "");
  EXPECT_EQ(MountPointIn("", "8:1"), "");
}

TEST(DeviceUsersTest, AMissingDeviceIsUnused) {
  EXPECT_TRUE(CheckDeviceUnused("/dev/ublkb-does-not-exist").ok());
}

TEST(DeviceUsersTest, AnOpenBlockDeviceIsReportedWithTheProcess) {
  // Any block device this machine has, held open by this process.
  std::string device;
  for (const char* candidate : {"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1"}) {
    if (std::filesystem::is_block_file(candidate)) {
      device = candidate;
      break;
    }
  }
  if (device.empty()) GTEST_SKIP() << "no block device to open here";
  const int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "cannot open " << device;
  absl::Status status = CheckDeviceUnused(device);
  close(fd);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("--force"), absl::string_view::npos) << status;
}

}  // namespace
}  // namespace isergw::gateway
