// Process-level checks: who we run as, the locked-memory limit RDMA
// registration needs, and whether the isergw daemon is listening.
#ifndef TOOLS_DOCTOR_SYSTEM_CHECKS_H_
#define TOOLS_DOCTOR_SYSTEM_CHECKS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "tools/doctor/check_result.h"
#include "tools/doctor/host_root.h"

namespace isergw::doctor {

inline constexpr char kDefaultControlSocket[] = "/run/isergw/control.sock";

CheckResult DecideRoot(uid_t euid);

// The effective capability set from /proc/self/status ("CapEff:\t000001ff...").
// nullopt when the line is missing or not hexadecimal.
std::optional<uint64_t> ParseEffectiveCapabilities(absl::string_view proc_status);

inline constexpr int kCapIpcLock = 14;

// RDMA memory registration pins pages against RLIMIT_MEMLOCK unless the
// process has CAP_IPC_LOCK. `limit` is rlim_cur (RLIM_INFINITY for none).
CheckResult DecideMemlock(uint64_t limit, bool cap_ipc_lock);

// What connecting to the daemon's control socket found.
enum class SocketProbe { kAbsent, kNotSocket, kRefused, kDenied, kAccepting, kError };

SocketProbe ProbeControlSocket(const std::string& path);
CheckResult DecideDaemon(const std::string& path, SocketProbe probe);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_SYSTEM_CHECKS_H_
