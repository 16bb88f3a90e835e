#include "tools/doctor/system_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/unit/doctor/fake_root.h"

namespace isergw::doctor {
namespace {

using ::testing::HasSubstr;

TEST(RootTest, RootIsOkOthersWarn) {
  EXPECT_EQ(DecideRoot(0).verdict, Verdict::kOk);
  CheckResult r = DecideRoot(1000);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("uid 1000"));
  EXPECT_THAT(r.fix, HasSubstr("sudo"));
}

TEST(CapabilitiesTest, ParsesCapEff) {
  EXPECT_EQ(ParseEffectiveCapabilities("Name:\tx\nCapInh:\t0000000000000000\n"
                                       "CapEff:\t000001ffffffffff\nCapBnd:\t0\n"),
            uint64_t{0x000001ffffffffff});
  EXPECT_EQ(ParseEffectiveCapabilities("CapEff:\t0000000000004000\n"), uint64_t{1} << kCapIpcLock);
  EXPECT_EQ(ParseEffectiveCapabilities("CapPrm:\t1\n"), std::nullopt);
  EXPECT_EQ(ParseEffectiveCapabilities("CapEff:\tzz\n"), std::nullopt);
  EXPECT_EQ(ParseEffectiveCapabilities("CapEff:\t\n"), std::nullopt);
}

TEST(MemlockTest, SmallLimitWithoutCapabilityWarns) {
  EXPECT_EQ(DecideMemlock(8 << 20, true).verdict, Verdict::kOk);
  EXPECT_EQ(DecideMemlock(RLIM_INFINITY, false).verdict, Verdict::kOk);
  EXPECT_EQ(DecideMemlock(uint64_t{1} << 30, false).verdict, Verdict::kOk);
  CheckResult r = DecideMemlock(8 << 20, false);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.detail, HasSubstr("8 MiB"));
  EXPECT_THAT(r.fix, HasSubstr("LimitMEMLOCK=infinity"));
}

class SocketTest : public ::testing::Test {
 protected:
  // Binds a Unix socket at `path`; listens when `listen_too`.
  int Bind(const std::string& path, bool listen_too) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    memcpy(address.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    if (listen_too) {
      EXPECT_EQ(listen(fd, 1), 0);
    }
    return fd;
  }
  FakeRoot fake_;
};

TEST_F(SocketTest, AbsentListeningStaleAndNotASocket) {
  const std::string path = fake_.path() + "/control.sock";
  EXPECT_EQ(ProbeControlSocket(path), SocketProbe::kAbsent);
  CheckResult r = DecideDaemon(path, SocketProbe::kAbsent);
  EXPECT_EQ(r.verdict, Verdict::kWarn);
  EXPECT_THAT(r.fix, HasSubstr("systemctl start isergw"));

  int fd = Bind(path, true);
  EXPECT_EQ(ProbeControlSocket(path), SocketProbe::kAccepting);
  EXPECT_EQ(DecideDaemon(path, SocketProbe::kAccepting).verdict, Verdict::kOk);
  close(fd);  // the socket file stays behind: what a crashed daemon leaves
  EXPECT_EQ(ProbeControlSocket(path), SocketProbe::kRefused);
  EXPECT_THAT(DecideDaemon(path, SocketProbe::kRefused).fix, HasSubstr("systemctl restart"));

  fake_.Write("/plain", "x");
  EXPECT_EQ(ProbeControlSocket(fake_.path() + "/plain"), SocketProbe::kNotSocket);
}

}  // namespace
}  // namespace isergw::doctor
