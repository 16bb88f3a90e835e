// The netlink messages that configure /dev/nbdN, and (where the kernel has
// an NBD driver: the QEMU guest of tests/vm) a device served end to end.
#include "nbd/kernel_device.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nbd/protocol.h"
#include "ublk/ram_backend.h"

namespace isergw::nbd {
namespace {

struct Attr {
  uint16_t type;
  bool nested;
  std::vector<uint8_t> data;
};

std::vector<Attr> ParseAttrs(const uint8_t* p, size_t length) {
  std::vector<Attr> attrs;
  size_t at = 0;
  while (at + NLA_HDRLEN <= length) {
    nlattr a;
    std::memcpy(&a, p + at, sizeof(a));
    EXPECT_GE(a.nla_len, NLA_HDRLEN);
    EXPECT_LE(at + a.nla_len, length);
    if (a.nla_len < NLA_HDRLEN || at + a.nla_len > length) {
      break;
    }
    attrs.push_back({static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK),
                     (a.nla_type & NLA_F_NESTED) != 0,
                     std::vector<uint8_t>(p + at + NLA_HDRLEN, p + at + a.nla_len)});
    at += NLA_ALIGN(a.nla_len);
  }
  EXPECT_EQ(at, length);
  return attrs;
}

template <typename T>
T Value(const Attr& a) {
  T v{};
  EXPECT_EQ(a.data.size(), sizeof(T));
  std::memcpy(&v, a.data.data(), std::min(sizeof(T), a.data.size()));
  return v;
}

TEST(KernelDeviceTest, ConnectMessage) {
  ExportInfo info;
  info.size = 1 << 30;
  info.min_block = 4096;
  info.transmission_flags = kTxHasFlags | kTxSendFlush | kTxCanMultiConn;
  KernelDeviceOptions options;
  options.timeout_seconds = 45;
  options.index = 3;
  const std::vector<uint8_t> m = EncodeConnect(0x1234, 7, info, {11, 12}, options);
  nlmsghdr h;
  std::memcpy(&h, m.data(), sizeof(h));
  EXPECT_EQ(h.nlmsg_len, m.size());
  EXPECT_EQ(h.nlmsg_type, 0x1234);
  EXPECT_EQ(h.nlmsg_seq, 7u);
  EXPECT_NE(h.nlmsg_flags & NLM_F_ACK, 0);
  genlmsghdr g;
  std::memcpy(&g, m.data() + NLMSG_HDRLEN, sizeof(g));
  EXPECT_EQ(g.cmd, NBD_CMD_CONNECT);
  auto attrs =
      ParseAttrs(m.data() + NLMSG_HDRLEN + GENL_HDRLEN, m.size() - NLMSG_HDRLEN - GENL_HDRLEN);
  std::vector<int> fds;
  bool saw_size = false;
  for (const Attr& a : attrs) {
    switch (a.type) {
      case NBD_ATTR_INDEX:
        EXPECT_EQ(Value<uint32_t>(a), 3u);
        break;
      case NBD_ATTR_SIZE_BYTES:
        EXPECT_EQ(Value<uint64_t>(a), uint64_t{1} << 30);
        saw_size = true;
        break;
      case NBD_ATTR_BLOCK_SIZE_BYTES:
        EXPECT_EQ(Value<uint64_t>(a), 4096u);
        break;
      case NBD_ATTR_SERVER_FLAGS:
        EXPECT_EQ(Value<uint64_t>(a), kTxHasFlags | kTxSendFlush | kTxCanMultiConn);
        break;
      case NBD_ATTR_TIMEOUT:
        EXPECT_EQ(Value<uint64_t>(a), 45u);
        break;
      case NBD_ATTR_SOCKETS: {
        EXPECT_TRUE(a.nested);
        for (const Attr& item : ParseAttrs(a.data.data(), a.data.size())) {
          EXPECT_EQ(item.type, NBD_SOCK_ITEM);
          auto inner = ParseAttrs(item.data.data(), item.data.size());
          ASSERT_EQ(inner.size(), 1u);
          EXPECT_EQ(inner[0].type, NBD_SOCK_FD);
          fds.push_back(static_cast<int>(Value<uint32_t>(inner[0])));
        }
        break;
      }
      default:
        break;
    }
  }
  EXPECT_TRUE(saw_size);
  EXPECT_EQ(fds, (std::vector<int>{11, 12}));
}

TEST(KernelDeviceTest, DisconnectAndFamilyMessages) {
  const std::vector<uint8_t> d = EncodeDisconnect(0x22, 9, 5);
  genlmsghdr g;
  std::memcpy(&g, d.data() + NLMSG_HDRLEN, sizeof(g));
  EXPECT_EQ(g.cmd, NBD_CMD_DISCONNECT);
  auto attrs =
      ParseAttrs(d.data() + NLMSG_HDRLEN + GENL_HDRLEN, d.size() - NLMSG_HDRLEN - GENL_HDRLEN);
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_EQ(Value<uint32_t>(attrs[0]), 5u);
  const std::vector<uint8_t> f = EncodeGetFamily(1);
  nlmsghdr h;
  std::memcpy(&h, f.data(), sizeof(h));
  EXPECT_EQ(h.nlmsg_type, GENL_ID_CTRL);
  attrs = ParseAttrs(f.data() + NLMSG_HDRLEN + GENL_HDRLEN, f.size() - NLMSG_HDRLEN - GENL_HDRLEN);
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_STREQ(reinterpret_cast<const char*>(attrs[0].data.data()), "nbd");
}

// Needs the kernel's nbd driver (tests/nbd/guest-kernel-nbd.sh runs it in
// the QEMU guest); skipped elsewhere.
TEST(KernelDeviceTest, ServesDeviceWithExt4) {
  auto ram = ublk::RamBackend::Create(64 << 20, 512);
  ASSERT_TRUE(ram.ok());
  KernelDeviceOptions options;
  options.connections = 2;
  auto device = KernelDevice::Attach(ram->get(), options);
  if (!device.ok() && device.status().code() == absl::StatusCode::kUnavailable) {
    GTEST_SKIP() << device.status().message();
  }
  ASSERT_TRUE(device.ok()) << device.status();
  const std::string path = (*device)->device_path();
  // The device node appears once the kernel has set it up.
  struct stat st;
  for (int i = 0; i < 100 && stat(path.c_str(), &st) != 0; ++i) {
    usleep(50 * 1000);
  }

  std::vector<uint8_t> block(1 << 20);
  for (size_t i = 0; i < block.size(); ++i) {
    block[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  void* aligned = nullptr;
  ASSERT_EQ(posix_memalign(&aligned, 4096, block.size()), 0);
  std::memcpy(aligned, block.data(), block.size());
  const int fd = open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  ASSERT_EQ(pwrite(fd, aligned, block.size(), 3 << 20), static_cast<ssize_t>(block.size()));
  ASSERT_EQ(fdatasync(fd), 0);
  std::memset(aligned, 0, block.size());
  ASSERT_EQ(pread(fd, aligned, block.size(), 3 << 20), static_cast<ssize_t>(block.size()));
  EXPECT_EQ(std::memcmp(aligned, block.data(), block.size()), 0);
  EXPECT_EQ(std::memcmp((*ram)->data() + (3 << 20), block.data(), block.size()), 0);
  close(fd);
  free(aligned);

  const std::string mnt = absl::StrCat(::testing::TempDir(), "/nbd-mnt-", getpid());
  mkdir(mnt.c_str(), 0700);
  ASSERT_EQ(system(absl::StrCat("mkfs.ext4 -q -F ", path).c_str()), 0);
  ASSERT_EQ(system(absl::StrCat("mount ", path, " ", mnt).c_str()), 0);
  EXPECT_EQ(system(absl::StrCat("head -c 8M /dev/urandom > ", mnt, "/f && sync && cd ", mnt,
                                " && sha256sum f > f.sum")
                       .c_str()),
            0);
  ASSERT_EQ(system(absl::StrCat("umount ", mnt).c_str()), 0);
  ASSERT_EQ(system(absl::StrCat("mount ", path, " ", mnt).c_str()), 0);
  EXPECT_EQ(system(absl::StrCat("cd ", mnt, " && sha256sum -c --quiet f.sum").c_str()), 0);
  ASSERT_EQ(system(absl::StrCat("umount ", mnt).c_str()), 0);
  EXPECT_EQ(system(absl::StrCat("e2fsck -fn ", path, " >/dev/null").c_str()), 0);
  rmdir(mnt.c_str());
  EXPECT_TRUE((*device)->Detach().ok());
}

}  // namespace
}  // namespace isergw::nbd
