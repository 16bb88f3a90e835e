// Who is using a block device: `detach` refuses to pull a disk from under a
// mounted filesystem, a device-mapper or md holder, or a process holding it
// open, and says which.
#ifndef GATEWAY_DEVICE_USERS_H_
#define GATEWAY_DEVICE_USERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace isergw::gateway {

// OK when nothing uses `device` ("/dev/ublkb0"); else FailedPrecondition
// naming the first user found ("mounted on /mnt", "held by dm-0", "open in
// process 123 (fio)"). `proc` and `sys` are "/proc" and "/sys" outside tests.
absl::Status CheckDeviceUnused(const std::string& device, absl::string_view proc = "/proc",
                               absl::string_view sys = "/sys");

// The mount point of the filesystem on device number `major:minor` in
// /proc/PID/mountinfo text, or empty. Pure, for tests.
std::string MountPointIn(absl::string_view mountinfo, absl::string_view major_minor);

}  // namespace isergw::gateway

#endif  // GATEWAY_DEVICE_USERS_H_
