#include "tools/doctor/portal_checks.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <rdma/rdma_cma.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "iser_client/config/url.h"

namespace isergw::doctor {
namespace {

int RemainingMs(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

std::string Elapsed(absl::Time start) {
  return absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - start), " ms");
}

// getaddrinfo for a numeric or named host; `error` says why not.
addrinfo* Resolve(const PortalTarget& target, int socktype, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(target.port);
  const int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    error = absl::StrCat("cannot resolve '", target.host, "': ", gai_strerror(rc));
    return nullptr;
  }
  return result;
}

// One TCP connect attempt until `deadline`; 0 or an errno.
int ConnectOnce(const addrinfo& address, absl::Time deadline) {
  const int fd = socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        address.ai_protocol);
  if (fd < 0) return errno;
  int error = 0;
  if (connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    error = errno;
    if (error == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      int n;
      do {
        n = poll(&pfd, 1, RemainingMs(deadline));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        error = ETIMEDOUT;
      } else {
        socklen_t length = sizeof(error);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      }
    }
  }
  close(fd);
  return error;
}

// Waits for the next RDMA CM event of `id` until `deadline`.
bool NextCmEvent(rdma_event_channel* channel, absl::Time deadline, rdma_cm_event_type& type,
                 int& status) {
  pollfd pfd{channel->fd, POLLIN, 0};
  int n;
  do {
    n = poll(&pfd, 1, RemainingMs(deadline));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  rdma_cm_event* event = nullptr;
  if (rdma_get_cm_event(channel, &event) != 0) return false;
  type = event->event;
  status = event->status;
  rdma_ack_cm_event(event);
  return true;
}

std::string StatusText(int status) {
  if (status < 0) return std::strerror(-status);
  return absl::StrCat("status ", status);
}

}  // namespace

absl::StatusOr<PortalTarget> ParsePortalArgument(absl::string_view argument) {
  PortalTarget target;
  if (absl::StrContains(argument, "://")) {
    absl::StatusOr<iscsi::ParsedUrl> url = iscsi::ParseUrl(argument);
    if (!url.ok()) return url.status();
    if (!url->IsIscsi()) {
      iscsi::WipeUrlSecrets(*url);
      return absl::InvalidArgumentError(
          "doctor checks a portal: give HOST[:PORT] or an iscsi:// or iser:// URL");
    }
    target.kind = url->scheme == iscsi::ParsedUrl::Scheme::kIser ? PortalTarget::Kind::kIserUrl
                                                                 : PortalTarget::Kind::kIscsiUrl;
    target.host = url->host;
    target.port = url->port;
    iscsi::WipeUrlSecrets(*url);
    return target;
  }
  absl::StatusOr<iscsi::Portal> portal = iscsi::ParsePortal(argument);
  if (!portal.ok()) return portal.status();
  target.host = portal->host;
  target.port = portal->port;
  return target;
}

std::string PortalName(const PortalTarget& target) {
  return iscsi::FormatPortal(target.host, target.port);
}

ProbeResult ProbeTcp(const PortalTarget& target, absl::Duration timeout) {
  ProbeResult result;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  std::string resolve_error;
  addrinfo* addresses = Resolve(target, SOCK_STREAM, resolve_error);
  if (addresses == nullptr) {
    result.detail = resolve_error;
    result.hint = "check the name (or give an address)";
    return result;
  }
  int error = ENOENT;
  for (addrinfo* a = addresses; a != nullptr; a = a->ai_next) {
    error = ConnectOnce(*a, deadline);
    if (error == 0 || RemainingMs(deadline) == 0) break;
  }
  freeaddrinfo(addresses);
  if (error == 0) {
    result.reachable = true;
    result.detail = absl::StrCat("TCP connect succeeded in ", Elapsed(start));
    return result;
  }
  result.detail = absl::StrCat("TCP connect failed after ", Elapsed(start), ": ",
                               error == ETIMEDOUT ? "no answer (timed out)" : std::strerror(error));
  switch (error) {
    case ECONNREFUSED:
      result.hint = absl::StrCat("the host answers but nothing listens on port ", target.port,
                                 ": is the iSCSI target running with a TCP portal there?");
      break;
    case ETIMEDOUT:
      result.hint = "the host does not answer: is it up, and does a firewall drop port " +
                    std::to_string(target.port) + "?";
      break;
    case EHOSTUNREACH:
      // On the local network this is a neighbour (ARP) lookup nobody answered.
      result.hint =
          "no host answers at that address (no ARP/neighbour reply, or a router reported it "
          "unreachable): is it up, and is the address right?";
      break;
    case ENETUNREACH:
      result.hint = "no route to that network: check the address and this host's routes (ip route)";
      break;
    default:
      result.hint = "check the address and the network path (ping, ip route get ADDRESS)";
      break;
  }
  return result;
}

ProbeResult ProbeIser(const PortalTarget& target, absl::Duration timeout) {
  ProbeResult result;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  std::string resolve_error;
  addrinfo* address = Resolve(target, SOCK_STREAM, resolve_error);
  if (address == nullptr) {
    result.detail = resolve_error;
    result.hint = "check the name (or give an address)";
    return result;
  }
  sockaddr_storage destination{};
  memcpy(&destination, address->ai_addr, address->ai_addrlen);
  freeaddrinfo(address);

  rdma_event_channel* channel = rdma_create_event_channel();
  if (channel == nullptr) {
    result.detail = absl::StrCat("cannot open the RDMA connection manager: ", std::strerror(errno));
    result.hint = "modprobe rdma_ucm; and see the rdma check: this host needs an RDMA device";
    return result;
  }
  rdma_cm_id* id = nullptr;
  if (rdma_create_id(channel, &id, nullptr, RDMA_PS_TCP) != 0) {
    result.detail = absl::StrCat("cannot create an RDMA CM id: ", std::strerror(errno));
    result.hint = "see the rdma check";
    rdma_destroy_event_channel(channel);
    return result;
  }
  const int timeout_ms = std::max(1000, RemainingMs(deadline));
  // RDMA CM enforces timeout_ms itself and then reports ADDR_ERROR with the
  // reason; wait a little longer than that so its answer, not ours, is seen.
  const absl::Time event_deadline = deadline + absl::Seconds(2);
  rdma_cm_event_type type = RDMA_CM_EVENT_ADDR_ERROR;
  int status = 0;
  const std::string no_device_hint =
      "no RDMA device on the way to it: the interface that routes to it needs RoCE "
      "(an RDMA NIC, or Soft-RoCE: rdma link add rxe0 type rxe netdev IFACE)";
  if (rdma_resolve_addr(id, nullptr, reinterpret_cast<sockaddr*>(&destination), timeout_ms) != 0) {
    result.detail = absl::StrCat("RDMA address resolution failed: ", std::strerror(errno));
    result.hint = no_device_hint;
  } else if (!NextCmEvent(channel, event_deadline, type, status)) {
    result.detail = "RDMA address resolution timed out";
    result.hint = "the address does not answer ARP/neighbour discovery: is the host up?";
  } else if (type != RDMA_CM_EVENT_ADDR_RESOLVED) {
    result.detail = absl::StrCat("RDMA address not resolved (", rdma_event_str(type), ": ",
                                 StatusText(status), ")");
    result.hint = status == -ENODEV || status == -EADDRNOTAVAIL
                      ? no_device_hint
                      : "the address does not answer ARP/neighbour discovery, or no RDMA "
                        "device is on the way to it: is the host up, and is RoCE on the "
                        "interface toward it?";
  } else if (rdma_resolve_route(id, std::max(1000, RemainingMs(deadline))) != 0) {
    result.detail = absl::StrCat("RDMA route resolution failed: ", std::strerror(errno));
    result.hint = no_device_hint;
  } else if (!NextCmEvent(channel, event_deadline, type, status)) {
    result.detail = "RDMA route resolution timed out";
    result.hint = no_device_hint;
  } else if (type != RDMA_CM_EVENT_ROUTE_RESOLVED) {
    result.detail = absl::StrCat("RDMA route not resolved (", rdma_event_str(type), ": ",
                                 StatusText(status), ")");
    result.hint = no_device_hint;
  } else {
    result.reachable = true;
    const char* device =
        id->verbs != nullptr ? ibv_get_device_name(id->verbs->device) : "an RDMA device";
    result.detail = absl::StrCat("RDMA address and route resolved via ", device, " port ",
                                 static_cast<int>(id->port_num), " in ", Elapsed(start),
                                 " (no connection or login tried)");
  }
  rdma_destroy_id(id);
  rdma_destroy_event_channel(channel);
  return result;
}

std::vector<CheckResult> DecideReachability(const PortalTarget& target, const ProbeResult& tcp,
                                            const ProbeResult& iser) {
  const std::string portal = PortalName(target);
  auto judge = [&](absl::string_view transport, const ProbeResult& probe, bool needed,
                   const ProbeResult& other) {
    CheckResult result{absl::StrCat(transport, " ", portal), Verdict::kOk,
                       absl::StrCat("reachable: ", probe.detail), ""};
    if (probe.reachable) return result;
    const bool fail = needed || (target.kind == PortalTarget::Kind::kPortal && !other.reachable);
    result.verdict = fail ? Verdict::kFail : Verdict::kWarn;
    result.detail = absl::StrCat("unreachable: ", probe.detail);
    result.fix = probe.hint;
    return result;
  };
  return {judge("tcp", tcp, target.kind == PortalTarget::Kind::kIscsiUrl, iser),
          judge("iser", iser, target.kind == PortalTarget::Kind::kIserUrl, tcp)};
}

}  // namespace isergw::doctor
