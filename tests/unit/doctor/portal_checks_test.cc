#include "tools/doctor/portal_checks.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace isergw::doctor {
namespace {

using ::testing::HasSubstr;
using Kind = PortalTarget::Kind;

TEST(ParsePortalArgumentTest, PortalsAndUrls) {
  auto p = ParsePortalArgument("192.0.2.1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, Kind::kPortal);
  EXPECT_EQ(p->host, "192.0.2.1");
  EXPECT_EQ(p->port, 3260);

  p = ParsePortalArgument("[fe80::1]:3261");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "fe80::1");
  EXPECT_EQ(p->port, 3261);
  EXPECT_EQ(PortalName(*p), "[fe80::1]:3261");

  p = ParsePortalArgument("iser://192.0.2.1/iqn.2026-11.example:t/0");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, Kind::kIserUrl);
  EXPECT_EQ(PortalName(*p), "192.0.2.1:3260");

  p = ParsePortalArgument("iscsi://user%secret@target.example:3262/iqn.2026-11.example:t/1");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->kind, Kind::kIscsiUrl);
  EXPECT_EQ(p->host, "target.example");
  EXPECT_EQ(p->port, 3262);
}

TEST(ParsePortalArgumentTest, RejectsUrlsWithoutAPortalAndGarbage) {
  auto p = ParsePortalArgument("mem://64M");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr("HOST[:PORT]"));
  EXPECT_FALSE(ParsePortalArgument("192.0.2.1:99999").ok());
  EXPECT_FALSE(ParsePortalArgument("iscsi://192.0.2.1").ok());
}

ProbeResult Reachable() { return {true, "fine", ""}; }
ProbeResult Unreachable(std::string hint) { return {false, "connection refused", hint}; }

TEST(DecideReachabilityTest, BarePortalFailsOnlyWhenNeitherTransportWorks) {
  PortalTarget target{Kind::kPortal, "192.0.2.1", 3260};
  auto r = DecideReachability(target, Reachable(), Unreachable("rdma hint"));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].check, "tcp 192.0.2.1:3260");
  EXPECT_EQ(r[0].verdict, Verdict::kOk);
  EXPECT_THAT(r[0].detail, HasSubstr("reachable"));
  EXPECT_EQ(r[1].check, "iser 192.0.2.1:3260");
  EXPECT_EQ(r[1].verdict, Verdict::kWarn);
  EXPECT_THAT(r[1].detail, HasSubstr("unreachable"));
  EXPECT_EQ(r[1].fix, "rdma hint");

  r = DecideReachability(target, Unreachable("a"), Unreachable("b"));
  EXPECT_EQ(r[0].verdict, Verdict::kFail);
  EXPECT_EQ(r[1].verdict, Verdict::kFail);
}

TEST(DecideReachabilityTest, UrlSchemeDecidesWhichTransportMustWork) {
  PortalTarget iscsi{Kind::kIscsiUrl, "h", 3260};
  auto r = DecideReachability(iscsi, Unreachable("a"), Reachable());
  EXPECT_EQ(r[0].verdict, Verdict::kFail);
  EXPECT_EQ(r[1].verdict, Verdict::kOk);
  r = DecideReachability(iscsi, Reachable(), Unreachable("b"));
  EXPECT_EQ(r[1].verdict, Verdict::kWarn);

  PortalTarget iser{Kind::kIserUrl, "h", 3260};
  r = DecideReachability(iser, Reachable(), Unreachable("b"));
  EXPECT_EQ(r[0].verdict, Verdict::kOk);
  EXPECT_EQ(r[1].verdict, Verdict::kFail);
  r = DecideReachability(iser, Unreachable("a"), Reachable());
  EXPECT_EQ(r[0].verdict, Verdict::kWarn);
}

// A TCP listener on 127.0.0.1 with a kernel-chosen port.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    listen(fd_, 4);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { Close(); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(ProbeTcpTest, ListenerIsReachableClosedPortIsRefused) {
  Listener listener;
  PortalTarget target{Kind::kPortal, "127.0.0.1", listener.port()};
  ProbeResult open = ProbeTcp(target, absl::Seconds(5));
  EXPECT_TRUE(open.reachable) << open.detail;
  EXPECT_THAT(open.detail, HasSubstr("succeeded"));

  listener.Close();
  ProbeResult closed = ProbeTcp(target, absl::Seconds(5));
  EXPECT_FALSE(closed.reachable);
  EXPECT_THAT(closed.detail, HasSubstr("refused"));
  EXPECT_THAT(closed.hint, HasSubstr("nothing listens on port"));
}

TEST(ProbeTcpTest, UnresolvableName) {
  PortalTarget target{Kind::kPortal, "no-such-host.invalid", 3260};
  ProbeResult r = ProbeTcp(target, absl::Seconds(5));
  EXPECT_FALSE(r.reachable);
  EXPECT_THAT(r.detail, HasSubstr("cannot resolve"));
}

TEST(ProbeIserTest, LoopbackHasNoRdmaRoute) {
  // Neither the build host (no RDMA at all) nor a host with RoCE has an RDMA
  // device on the loopback route, so this must be unreachable with a hint.
  PortalTarget target{Kind::kIserUrl, "127.0.0.1", 3260};
  ProbeResult r = ProbeIser(target, absl::Seconds(3));
  EXPECT_FALSE(r.reachable) << r.detail;
  EXPECT_FALSE(r.detail.empty());
  EXPECT_FALSE(r.hint.empty());
}

}  // namespace
}  // namespace isergw::doctor
