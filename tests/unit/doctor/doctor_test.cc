// RunChecks end to end on this host's io_uring and libibverbs, with /sys,
// /dev and /lib/modules faked.
#include "tools/doctor/doctor.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>

#include "tests/unit/doctor/fake_root.h"
#include "tools/doctor/kernel_checks.h"

namespace isergw::doctor {
namespace {

using ::testing::HasSubstr;

const CheckResult* Find(const std::vector<CheckResult>& results, const std::string& check) {
  auto it = std::find_if(results.begin(), results.end(),
                         [&](const CheckResult& r) { return r.check == check; });
  return it == results.end() ? nullptr : &*it;
}

TEST(RunChecksTest, HostWithoutUblkFailsAndPortalIsProbed) {
  FakeRoot fake;
  fake.Write("/lib/modules/" + KernelRelease() + "/modules.dep",
             "kernel/drivers/block/ublk_drv.ko.xz:\nkernel/drivers/block/nbd.ko.xz:\n");
  fake.Write("/proc/sys/kernel/io_uring_disabled", "0\n");

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);

  DoctorOptions options;
  options.root = fake.root();
  options.control_socket = "/run/isergw/control.sock";
  options.portal = PortalTarget{PortalTarget::Kind::kPortal, "127.0.0.1", ntohs(address.sin_port)};
  options.timeout = absl::Seconds(3);
  std::vector<CheckResult> results = RunChecks(options);
  close(listener);

  for (const char* name : {"root", "ublk", "io_uring", "nbd", "memlock", "rdma", "daemon"}) {
    EXPECT_NE(Find(results, name), nullptr) << name;
  }
  const CheckResult* ublk = Find(results, "ublk");
  ASSERT_NE(ublk, nullptr);
  EXPECT_EQ(ublk->verdict, Verdict::kFail);
  EXPECT_THAT(ublk->fix, HasSubstr("modprobe ublk_drv"));
  EXPECT_EQ(Find(results, "io_uring")->verdict, Verdict::kOk);
  EXPECT_EQ(Find(results, "daemon")->verdict, Verdict::kWarn);
  const std::string portal = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  const CheckResult* tcp = Find(results, "tcp " + portal);
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp->verdict, Verdict::kOk);
  const CheckResult* iser = Find(results, "iser " + portal);
  ASSERT_NE(iser, nullptr);
  EXPECT_EQ(iser->verdict, Verdict::kWarn);  // TCP works, so iSER is optional
  EXPECT_TRUE(AnyFailed(results));
}

TEST(RunChecksTest, UblkPresentAndDaemonListening) {
  FakeRoot fake;
  fake.Write("/dev/ublk-control", "");
  fake.Write("/dev/nbd0", "");
  fake.MakeDir("/run/isergw");
  const std::string socket_path = fake.path() + "/run/isergw/control.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(fd, 1), 0);

  DoctorOptions options;
  options.root = fake.root();
  options.control_socket = "/run/isergw/control.sock";
  options.query_ublk = false;  // the fake node cannot answer GET_FEATURES
  std::vector<CheckResult> results = RunChecks(options);
  close(fd);
  EXPECT_EQ(Find(results, "ublk")->verdict, Verdict::kOk);
  EXPECT_EQ(Find(results, "nbd")->verdict, Verdict::kOk);
  EXPECT_EQ(Find(results, "daemon")->verdict, Verdict::kOk);
  EXPECT_EQ(Find(results, "tcp 127.0.0.1:3260"), nullptr);  // no portal given
}

}  // namespace
}  // namespace isergw::doctor
