// Runs all of doctor's checks on this host.
#ifndef TOOLS_DOCTOR_DOCTOR_H_
#define TOOLS_DOCTOR_DOCTOR_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "tools/doctor/check_result.h"
#include "tools/doctor/host_root.h"
#include "tools/doctor/portal_checks.h"

namespace isergw::doctor {

struct DoctorOptions {
  HostRoot root;                       // "" : the real host
  std::string control_socket;          // the daemon's socket
  std::optional<PortalTarget> portal;  // reachability checks when set
  absl::Duration timeout = absl::Seconds(5);
  bool query_ublk = true;  // open /dev/ublk-control for GET_FEATURES
};

// root, ublk, io_uring, nbd, memlock, rdma..., daemon, then tcp/iser for
// the portal; in that order.
std::vector<CheckResult> RunChecks(const DoctorOptions& options);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_DOCTOR_H_
