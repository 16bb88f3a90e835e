// Can this host reach a portal? Over TCP: a connect to the portal's port.
// Over iSER: RDMA CM address and route resolution to it, which proves an
// RDMA device on the way (no connection, no login: the target sees
// nothing).
#ifndef TOOLS_DOCTOR_PORTAL_CHECKS_H_
#define TOOLS_DOCTOR_PORTAL_CHECKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tools/doctor/check_result.h"

namespace isergw::doctor {

struct PortalTarget {
  // What the user named: a bare portal (either transport will do), or a
  // URL whose scheme says which transport it needs.
  enum class Kind { kPortal, kIscsiUrl, kIserUrl };
  Kind kind = Kind::kPortal;
  std::string host;
  uint16_t port = 3260;
};

// "HOST[:PORT]", "[v6]:PORT", or an iscsi:// / iser:// URL (its secrets, if
// any, are dropped at once). file:// and mem:// have no portal: an error.
absl::StatusOr<PortalTarget> ParsePortalArgument(absl::string_view argument);

// "192.0.2.1:3260", "[fe80::1]:3260".
std::string PortalName(const PortalTarget& target);

struct ProbeResult {
  bool reachable = false;
  std::string detail;  // "connected in 2 ms", "connection refused", ...
  std::string hint;    // for an unreachable result: what to look at
};

ProbeResult ProbeTcp(const PortalTarget& target, absl::Duration timeout);
ProbeResult ProbeIser(const PortalTarget& target, absl::Duration timeout);

// Turns both probes into two checks ("tcp PORTAL", "iser PORTAL"). A failed
// probe is a FAIL when the named transport needs it (iscsi:// -> TCP,
// iser:// -> iSER) or when a bare portal is reachable by neither; else a
// WARN.
std::vector<CheckResult> DecideReachability(const PortalTarget& target, const ProbeResult& tcp,
                                            const ProbeResult& iser);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_PORTAL_CHECKS_H_
