#include "iser_client/transport/interface_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iser_client/config/exit_codes.h"

namespace isergw::iscsi {
namespace {

TEST(InterfaceAddressTest, LoopbackHasItsAddress) {
  auto address = InterfaceAddress("lo", AF_INET);
  ASSERT_TRUE(address.ok()) << address.status();
  const auto* in = reinterpret_cast<const sockaddr_in*>(&*address);
  EXPECT_EQ(in->sin_family, AF_INET);
  EXPECT_EQ(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
}

TEST(InterfaceAddressTest, AMissingInterfaceIsNamed) {
  auto address = InterfaceAddress("nosuchif0", AF_INET);
  ASSERT_FALSE(address.ok());
  EXPECT_EQ(address.status().message(), "no network interface 'nosuchif0'");
  EXPECT_EQ(GetFailureKind(address.status()), FailureKind::kNoRoute);
}

TEST(InterfaceAddressTest, BindingASocketToAMissingInterfaceFailsWithItsName) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  absl::Status bound = BindToInterface(fd, "nosuchif0");
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.message().find("cannot bind to network interface 'nosuchif0'"), std::string::npos)
      << bound;
  EXPECT_TRUE(BindToInterface(fd, "lo").ok());
  close(fd);
}

}  // namespace
}  // namespace isergw::iscsi
