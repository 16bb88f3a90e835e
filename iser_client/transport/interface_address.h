// The address a path bound to a network interface (--iface) starts from.
#ifndef ISER_CLIENT_TRANSPORT_INTERFACE_ADDRESS_H_
#define ISER_CLIENT_TRANSPORT_INTERFACE_ADDRESS_H_

#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"

namespace isergw::iscsi {

// The first address of `family` (AF_INET, AF_INET6) on interface `iface`.
// NotFound, tagged kNoRoute, names the interface when it does not exist or
// has no such address.
absl::StatusOr<sockaddr_storage> InterfaceAddress(const std::string& iface, int family);

// SO_BINDTODEVICE `fd` to `iface`; the error names the interface.
absl::Status BindToInterface(int fd, const std::string& iface);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_INTERFACE_ADDRESS_H_
