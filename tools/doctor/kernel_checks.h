// Kernel pieces isergw uses: the ublk driver, io_uring and NBD. Facts are
// gathered from a HostRoot (so tests can fake /sys, /dev, /proc and
// /lib/modules) and judged by pure Decide* functions.
#ifndef TOOLS_DOCTOR_KERNEL_CHECKS_H_
#define TOOLS_DOCTOR_KERNEL_CHECKS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "tools/doctor/check_result.h"
#include "tools/doctor/host_root.h"

namespace isergw::doctor {

// Where a kernel module stands on this host.
enum class ModuleState {
  kLoaded,     // /sys/module/NAME exists
  kBuiltin,    // listed in modules.builtin
  kAvailable,  // listed in modules.dep: `modprobe NAME` will load it
  kMissing,    // this kernel does not have it
  kUnknown,    // /lib/modules/RELEASE is not readable, so we cannot tell
};

// True when a modules.dep or modules.builtin text names module `name`
// ("kernel/drivers/block/ublk_drv.ko.xz: ..." names ublk_drv). '-' and '_'
// are the same in module names, as modprobe treats them.
bool ModuleListed(absl::string_view modules_text, absl::string_view name);

ModuleState FindModule(const HostRoot& root, absl::string_view kernel_release,
                       absl::string_view name);

// The running kernel's release (uname -r).
std::string KernelRelease();

// --- ublk ---

struct UblkFacts {
  std::string kernel_release;
  bool control_node = false;  // /dev/ublk-control exists
  ModuleState module = ModuleState::kUnknown;

  // The driver's answer to GET_FEATURES through ublk::ControlDevice.
  enum class Query { kNotTried, kAnswered, kPermissionDenied, kError };
  Query query = Query::kNotTried;
  bool features_known = false;  // false: the kernel has no GET_FEATURES (< 6.5)
  uint64_t features = 0;
  std::string query_error;
};

UblkFacts GatherUblkFacts(const HostRoot& root, absl::string_view kernel_release);

// Opens /dev/ublk-control and asks for its features (the real host only).
void QueryUblkFeatures(UblkFacts& facts);

// "USER_RECOVERY USER_RECOVERY_REISSUE CMD_IOCTL_ENCODE ..." (unknown bits
// as "bit N").
std::string UblkFeatureNames(uint64_t features);

CheckResult DecideUblk(const UblkFacts& facts);

// --- io_uring ---

struct IoUringFacts {
  // /proc/sys/kernel/io_uring_disabled (Linux 6.6+): 0 allowed, 1 only for
  // privileged processes and kernel.io_uring_group, 2 disabled for all.
  std::optional<std::string> disabled_sysctl;
  int setup_error = 0;  // errno of io_uring_queue_init, 0 when it worked
  bool privileged = false;
};

IoUringFacts GatherIoUringFacts(const HostRoot& root, bool privileged);
CheckResult DecideIoUring(const IoUringFacts& facts);

// --- NBD ---

struct NbdFacts {
  bool device_node = false;  // /dev/nbd0
  ModuleState module = ModuleState::kUnknown;
  std::string kernel_release;
};

NbdFacts GatherNbdFacts(const HostRoot& root, absl::string_view kernel_release);
CheckResult DecideNbd(const NbdFacts& facts);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_KERNEL_CHECKS_H_
