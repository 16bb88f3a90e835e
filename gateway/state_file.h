// The daemon's record of attached volumes (<state-dir>/volumes.json), so a
// restarted daemon takes over the same /dev/ublkbN devices (same boot) or
// attaches the persistent ones again (after a reboot). Written atomically:
// a crash leaves the old file or the new one, never a mix.
#ifndef GATEWAY_STATE_FILE_H_
#define GATEWAY_STATE_FILE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/volume_spec.h"

namespace isergw::gateway {

struct VolumeRecord {
  VolumeSpec spec;
  std::optional<uint32_t> device_id;  // the ublk device, while it exists
};

struct DaemonState {
  std::string boot_id;  // /proc/sys/kernel/random/boot_id when written
  std::vector<VolumeRecord> volumes;
};

// An absent file is an empty state; a damaged one is an error naming it.
absl::StatusOr<DaemonState> LoadState(const std::string& path);
// Writes `path`.tmp, fsyncs it, renames it over `path`, fsyncs the folder.
absl::Status SaveState(const std::string& path, const DaemonState& state);

// This boot's id, to tell a daemon restart from a reboot.
std::string CurrentBootId();

}  // namespace isergw::gateway

#endif  // GATEWAY_STATE_FILE_H_
