#include "iser_client/transport/interface_address.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "iser_client/config/exit_codes.h"

namespace isergw::iscsi {

absl::StatusOr<sockaddr_storage> InterfaceAddress(const std::string& iface, int family) {
  if (if_nametoindex(iface.c_str()) == 0) {
    return WithFailure(absl::NotFoundError(absl::StrCat("no network interface '", iface, "'")),
                       FailureKind::kNoRoute);
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return WithFailure(
        absl::InternalError(absl::StrCat("cannot list network interfaces: ", strerror(errno))),
        FailureKind::kNoRoute);
  }
  absl::StatusOr<sockaddr_storage> found = WithFailure(
      absl::NotFoundError(absl::StrCat("network interface '", iface, "' has no ",
                                       family == AF_INET6 ? "IPv6" : "IPv4", " address")),
      FailureKind::kNoRoute);
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != family || iface != a->ifa_name) {
      continue;
    }
    sockaddr_storage address{};
    memcpy(&address, a->ifa_addr, family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    found = address;
    break;
  }
  freeifaddrs(list);
  return found;
}

absl::Status BindToInterface(int fd, const std::string& iface) {
  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, iface.c_str(),
                 static_cast<socklen_t>(iface.size())) != 0) {
    const int err = errno;
    return WithFailure(absl::UnavailableError(absl::StrCat("cannot bind to network interface '",
                                                           iface, "': ", strerror(err))),
                       err == ENODEV ? FailureKind::kNoRoute : FailureKind::kTransport);
  }
  return absl::OkStatus();
}

}  // namespace isergw::iscsi
