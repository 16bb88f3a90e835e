#ifndef GATEWAY_ISCSI_BACKEND_H_
#define GATEWAY_ISCSI_BACKEND_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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

  void Publish(const iscsi::SessionStats& stats);
};

// What a queue's session settled at login, for `isergw status`.
struct QueueSessionInfo {
  uint16_t queue_id = 0;
  std::array<uint8_t, 6> isid{};
  uint16_t tsih = 0;
  iscsi::SessionParams params;
  const PublishedSessionCounters* counters = nullptr;  // owned by the backend
};

// An iSCSI LUN as a block backend: each queue logs in its own session (its
// own ISID, so the target sees independent I_T nexuses) on the queue
// thread's EventLoop, and turns block requests into SCSI commands: READ and
// WRITE (FUA as the FUA bit), FLUSH as SYNCHRONIZE CACHE, DISCARD as UNMAP,
// WRITE_ZEROES as WRITE SAME(16). The geometry comes from READ CAPACITY and
// the VPD pages, read once by a probe session on the control thread.
class IscsiBackend final : public ublk::Backend {
 public:
  // Logs in once to check the LUN and read its geometry, then logs out.
  static absl::StatusOr<std::unique_ptr<IscsiBackend>> Open(iscsi::InitiatorOptions options,
                                                            uint32_t lun);

  const ublk::Geometry& geometry() const override { return geometry_; }
  absl::StatusOr<std::unique_ptr<ublk::QueueBackend>> OpenQueue(
      const ublk::QueueContext& context) override;
  // Queues flush their own caches (SYNCHRONIZE CACHE) as FLUSH requests; by
  // the time the device stops, the block layer has sent its last FLUSH.
  absl::Status Flush() override { return absl::OkStatus(); }
  std::string Describe() const override;

  const iscsi::LunInfo& lun_info() const { return info_; }
  const iscsi::InitiatorOptions& options() const { return options_; }
  // One entry per queue logged in, in login order. Thread-safe.
  std::vector<QueueSessionInfo> sessions() const;

 private:
  IscsiBackend(iscsi::InitiatorOptions options, iscsi::LunInfo info);

  iscsi::InitiatorOptions options_;
  iscsi::LunInfo info_;
  ublk::Geometry geometry_;
  mutable std::mutex sessions_mu_;
  std::vector<QueueSessionInfo> sessions_;  // guarded by sessions_mu_
  // One per queue id, made on first open, never freed before the backend.
  std::vector<std::unique_ptr<PublishedSessionCounters>> counters_;  // guarded by sessions_mu_
};

// The block geometry a LUN supports, from what ProbeLun read. Exposed for
// tests.
ublk::Geometry GeometryFor(const iscsi::LunInfo& info);

}  // namespace isergw::gateway

#endif  // GATEWAY_ISCSI_BACKEND_H_
