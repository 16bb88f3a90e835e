// `isergw daemon`: holds the attached volumes, answers the control socket,
// records the volumes in the state file and takes them back after a
// restart. Requests are served each on a thread of its own (an attach that
// logs in for seconds does not hold up `list`); the volume table is behind
// one lock.
//
// Restarts: the devices outlive the daemon. `isergw daemon` ends on SIGTERM
// by exiting the process without destroying the Daemon, so the kernel sees
// the server gone and holds the devices' I/O (ublk user recovery) until the
// next daemon takes them back: a pause for the filesystems on them, not an
// error. Destroying the Daemon instead detaches every volume.
#ifndef GATEWAY_DAEMON_H_
#define GATEWAY_DAEMON_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/control_socket.h"
#include "gateway/device_links.h"
#include "gateway/state_file.h"
#include "gateway/volume.h"

namespace isergw::gateway {

struct DaemonOptions {
  std::string socket_path = "/run/isergw/control.sock";
  std::string state_dir = "/var/lib/isergw";
  std::string config_dir = "/etc/isergw";
  std::string links_root = "/dev";
  // Prometheus textfile (node exporter's textfile collector); empty: none.
  std::string metrics_file;
};

class Daemon {
 public:
  // Loads the state, takes back or re-attaches its volumes, then listens.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonOptions& options);
  ~Daemon();  // waits for request threads, then detaches every volume

  // Serves until `signal_fd` (a signalfd for SIGTERM/SIGINT) is readable.
  absl::Status Run(int signal_fd);

  // Closes and removes the control socket (before the process ends).
  void StopListening() { listener_.reset(); }

  // Answers one request (thread-safe). Public for tests.
  nlohmann::json Handle(const nlohmann::json& request);

  // How many volumes came back at start-up, and how many failed to.
  int restored() const { return restored_; }
  int restore_failures() const { return restore_failures_; }

 private:
  struct Entry {
    VolumeSpec spec;
    std::unique_ptr<Volume> volume;  // null while waiting, or once failed
    std::vector<DeviceLink> links;
    std::string error;  // why it failed, or why the last attempt did
    // Waiting: a volume that could not come back at start-up (the target
    // not up yet, boot order) is tried again with backoff until it attaches.
    bool waiting = false;
    bool attempt_running = false;
    int attempts = 0;
    absl::Time next_attempt;
    std::optional<uint32_t> recover_id;  // its device, if still there
  };

  explicit Daemon(const DaemonOptions& options);
  void Restore(const DaemonState& state);
  absl::StatusOr<nlohmann::json> Attach(const nlohmann::json& request);
  absl::StatusOr<nlohmann::json> Detach(const nlohmann::json& request);
  nlohmann::json List();
  absl::StatusOr<nlohmann::json> Status(const nlohmann::json& request);
  absl::StatusOr<nlohmann::json> Set(const nlohmann::json& request);
  // Starts the attempts of waiting entries that are due; mu_ held.
  void RetryWaitingLocked(absl::Time now);
  void RetryWaiting(std::string name, VolumeSpec spec, std::optional<uint32_t> recover_id);
  // Runs `work` on a thread of its own, counted like a request's.
  bool StartWorker(std::function<void()> work);
  // Creates the volume's device and links; the entry is not yet in the table.
  absl::StatusOr<Entry> AttachEntry(const VolumeSpec& spec, std::optional<uint32_t> recover_id);
  // The entry named `key` (a name or /dev/ublkbN); mu_ held.
  std::map<std::string, Entry>::iterator FindLocked(const std::string& key);
  absl::Status SaveLocked();
  void SampleAndWatch();
  void ServeConnection(int fd);
  nlohmann::json EntrySummary(const Entry& entry, bool detail) const;

  DaemonOptions options_;
  std::string state_path_;
  std::unique_ptr<ControlListener> listener_;
  int restored_ = 0;
  int restore_failures_ = 0;

  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // by name; guarded by mu_
  // Names being attached, and the LUN or file each names; guarded by mu_.
  std::map<std::string, std::string> pending_;

  std::mutex workers_mu_;
  std::condition_variable workers_done_;
  int workers_ = 0;  // guarded by workers_mu_
};

}  // namespace isergw::gateway

#endif  // GATEWAY_DAEMON_H_
