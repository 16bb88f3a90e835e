// A volume: one LUN (or file, or RAM) behind one ublk device, as the daemon
// holds it. Attach opens the backend (each ublk queue then logs in its own
// session on its own thread) and creates /dev/ublkbN, or takes over the
// device a previous daemon left behind (ublk user recovery). Detach flushes
// and deletes the device. Stats are sampled once a second for `list`.
// Not thread-safe: the daemon serialises calls (its volume table lock).
#ifndef GATEWAY_VOLUME_H_
#define GATEWAY_VOLUME_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/iscsi_backend.h"
#include "gateway/volume_spec.h"
#include "ublk/backend.h"
#include "ublk/device.h"
#include "ublk/io_stats.h"

namespace isergw::gateway {

struct VolumeEnvironment {
  std::string config_dir = "/etc/isergw";
};

class Volume {
 public:
  // Creates a new device, or with `recover_id` takes over /dev/ublkb<id>.
  static absl::StatusOr<std::unique_ptr<Volume>> Attach(const VolumeSpec& spec,
                                                        const VolumeEnvironment& env,
                                                        std::optional<uint32_t> recover_id);
  ~Volume();  // Detach() unless done

  const VolumeSpec& spec() const { return spec_; }
  uint32_t device_id() const { return device_id_; }
  std::string device_path() const { return absl::StrCat("/dev/ublkb", device_id_); }
  // "iser", "tcp", "file" or "mem".
  const std::string& transport() const { return transport_; }
  // The LUN's identity; nullptr for file:// and mem://.
  const iscsi::LunInfo* lun_info() const;
  const ublk::Geometry& geometry() const { return backend_->geometry(); }
  bool recovered() const { return recovered_; }

  // The device's failure eventfd (readable once a queue's backend failed
  // for good) and the reason.
  int failure_fd() const;
  absl::Status failure() const;

  // Stops the device (the block layer drains, queues flush), deletes it.
  absl::Status Detach();
  bool attached() const { return device_ != nullptr; }

  // `isergw set NAME replacement-timeout=S`: for the volume's queues now,
  // and in spec() for restarts.
  absl::Status SetReplacementTimeout(uint32_t seconds);
  // The path's recovery state for `status`: live, reconnecting, failing
  // (past the replacement timeout) or stopped; null for local backends.
  nlohmann::json Recovery() const;

  // Takes a stats sample; `list` shows the rates between the last two.
  void Sample(absl::Time now);
  // One line of `list`: device, name, URL, transport, state, size, live
  // IOPS and latency. `status` adds sessions, parameters and counters.
  nlohmann::json Summary() const;
  nlohmann::json Status() const;
  // Prometheus text exposition of the counters, labelled with the name.
  std::string Prometheus() const;

 private:
  Volume(VolumeSpec spec, std::string transport, std::unique_ptr<ublk::Backend> backend,
         IscsiBackend* iscsi);

  struct Sampled {
    absl::Time at = absl::InfinitePast();
    ublk::IoStatsSnapshot stats;
  };

  VolumeSpec spec_;
  std::string transport_;
  std::unique_ptr<ublk::Backend> backend_;
  IscsiBackend* iscsi_;  // backend_, when it is an iSCSI LUN
  std::unique_ptr<ublk::Device> device_;
  uint32_t device_id_ = 0;
  bool recovered_ = false;
  absl::Time attached_at_;
  Sampled previous_, latest_;
};

}  // namespace isergw::gateway

#endif  // GATEWAY_VOLUME_H_
