#ifndef GATEWAY_ISCSI_BACKEND_H_
#define GATEWAY_ISCSI_BACKEND_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gateway/path_recovery.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "ublk/backend.h"

namespace isergw::gateway {

// A queue's session counters, copied once a second by the queue thread
// (the session's own counters are that thread's alone), read by `status`.
struct PublishedSessionCounters {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> r2ts{0};
  std::atomic<uint64_t> nop_pings{0};
  std::atomic<uint64_t> async_messages{0};
  std::atomic<uint64_t> rejects{0};
  std::atomic<uint64_t> aborts{0};
  std::atomic<uint64_t> lun_resets{0};
  std::atomic<uint64_t> protocol_errors{0};
  // Recovery: the path's PathState, sessions re-established, requests
  // reissued on a new session, requests failed while no session could take
  // them (replacement timeout, a different LUN),
  // and when the current outage began (Unix ms; 0: none).
  std::atomic<uint8_t> path_state{0};
  std::atomic<uint64_t> reconnects{0};
  std::atomic<uint64_t> reissued{0};
  std::atomic<uint64_t> failed_while_down{0};
  std::atomic<int64_t> outage_since_unix_ms{0};

  void Publish(const iscsi::SessionStats& stats);
};

// What a queue's current session settled at login, for `isergw status`.
struct QueueSessionInfo {
  uint16_t queue_id = 0;
  std::array<uint8_t, 6> isid{};
  uint16_t tsih = 0;
  std::string portal;  // HOST:PORT
  iscsi::SessionParams params;
  std::string last_error;  // why the last session was lost or a login failed
  const PublishedSessionCounters* counters = nullptr;  // owned by the backend
};

// One queue's published state: counters (atomics, written once a second)
// and its session (written on each login, so behind a lock).
class PublishedQueue {
 public:
  explicit PublishedQueue(uint16_t queue_id) { info_.queue_id = queue_id; }
  PublishedSessionCounters& counters() { return counters_; }
  void SetSession(const std::array<uint8_t, 6>& isid, uint16_t tsih, std::string portal,
                  const iscsi::SessionParams& params);
  void SetLastError(std::string error);
  // Nothing until the queue's first login.
  std::optional<QueueSessionInfo> Snapshot() const;

 private:
  PublishedSessionCounters counters_;
  mutable std::mutex mu_;
  QueueSessionInfo info_;  // guarded by mu_
  bool logged_in_ = false;
};

// How a volume's queues ride through outages.
struct PathOptions {
  // Portals of the same target beyond the URL's, tried in turn when one is
  // down (at attach and on every reconnect).
  std::vector<iscsi::Endpoint> more_portals;
  // Also the target's other portals as SendTargets lists them (a discovery
  // session on the URL's portal at attach).
  bool discover_portals = false;
  // Queues start at different portals (queue i at portal i mod n).
  bool spread_queues = false;
  absl::Duration replacement_timeout = kDefaultReplacementTimeout;
};

// An iSCSI LUN as a block backend: each queue logs in its own session (its
// own ISID, so the target sees independent I_T nexuses) on the queue
// thread's EventLoop, and turns block requests into SCSI commands: READ and
// WRITE (FUA as the FUA bit), FLUSH as SYNCHRONIZE CACHE, DISCARD as UNMAP,
// WRITE_ZEROES as WRITE SAME(16). The geometry comes from READ CAPACITY and
// the VPD pages, read once by a probe session on the control thread.
class IscsiBackend final : public ublk::Backend {
 public:
  // Logs in once to check the LUN and read its geometry, then logs out. The
  // probe tries the URL's portal, then each of `paths.more_portals`.
  static absl::StatusOr<std::unique_ptr<IscsiBackend>> Open(iscsi::InitiatorOptions options,
                                                            uint32_t lun, PathOptions paths = {});

  const ublk::Geometry& geometry() const override { return geometry_; }
  absl::StatusOr<std::unique_ptr<ublk::QueueBackend>> OpenQueue(
      const ublk::QueueContext& context) override;
  // Queues flush their own caches (SYNCHRONIZE CACHE) as FLUSH requests; by
  // the time the device stops, the block layer has sent its last FLUSH.
  absl::Status Flush() override { return absl::OkStatus(); }
  std::string Describe() const override;
  absl::Duration LongestRequestHold() const override;

  const iscsi::LunInfo& lun_info() const { return info_; }
  const iscsi::InitiatorOptions& options() const { return options_; }
  // Every portal, the URL's first.
  const std::vector<iscsi::Endpoint>& portals() const { return portals_; }
  // One entry per queue logged in, by queue id. Thread-safe.
  std::vector<QueueSessionInfo> sessions() const;
  // Shared with the queues; `isergw set` changes it on a live volume.
  RecoverySettings& recovery() { return recovery_; }
  const RecoverySettings& recovery() const { return recovery_; }

 private:
  IscsiBackend(iscsi::InitiatorOptions options, iscsi::LunInfo info, const PathOptions& paths);

  iscsi::InitiatorOptions options_;
  iscsi::LunInfo info_;
  ublk::Geometry geometry_;
  std::vector<iscsi::Endpoint> portals_;
  bool spread_queues_ = false;
  size_t live_portal_ = 0;  // the first portal that logged in at Open
  RecoverySettings recovery_;
  mutable std::mutex queues_mu_;
  // One per queue id, made on first open, never freed before the backend
  // (a queue reopened by ublk recovery keeps its counters).
  std::vector<std::unique_ptr<PublishedQueue>> queues_;  // guarded by queues_mu_
};

// The block geometry a LUN supports, from what ProbeLun read. Exposed for
// tests.
ublk::Geometry GeometryFor(const iscsi::LunInfo& info);

}  // namespace isergw::gateway

#endif  // GATEWAY_ISCSI_BACKEND_H_
