#include "tools/doctor/doctor.h"

#include <sys/resource.h>
#include <unistd.h>

#include "tools/doctor/kernel_checks.h"
#include "tools/doctor/rdma_checks.h"
#include "tools/doctor/system_checks.h"

namespace isergw::doctor {

std::vector<CheckResult> RunChecks(const DoctorOptions& options) {
  std::vector<CheckResult> results;
  const HostRoot& root = options.root;
  const uid_t euid = geteuid();
  const std::string release = KernelRelease();
  results.push_back(DecideRoot(euid));

  UblkFacts ublk = GatherUblkFacts(root, release);
  if (ublk.control_node && options.query_ublk) QueryUblkFeatures(ublk);
  results.push_back(DecideUblk(ublk));

  results.push_back(DecideIoUring(GatherIoUringFacts(root, euid == 0)));
  results.push_back(DecideNbd(GatherNbdFacts(root, release)));

  const std::optional<uint64_t> caps =
      ParseEffectiveCapabilities(root.ReadAll("/proc/self/status").value_or(""));
  rlimit memlock{};
  getrlimit(RLIMIT_MEMLOCK, &memlock);
  results.push_back(
      DecideMemlock(memlock.rlim_cur, caps.has_value() && (*caps & (uint64_t{1} << kCapIpcLock))));

  for (CheckResult& r : DecideRdma(GatherRdmaFacts(root, release))) {
    results.push_back(std::move(r));
  }
  results.push_back(
      DecideDaemon(options.control_socket, ProbeControlSocket(root.Path(options.control_socket))));

  if (options.portal) {
    const ProbeResult tcp = ProbeTcp(*options.portal, options.timeout);
    const ProbeResult iser = ProbeIser(*options.portal, options.timeout);
    for (CheckResult& r : DecideReachability(*options.portal, tcp, iser)) {
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace isergw::doctor
