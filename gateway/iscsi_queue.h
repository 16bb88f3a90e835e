#ifndef GATEWAY_ISCSI_QUEUE_H_
#define GATEWAY_ISCSI_QUEUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "gateway/path_recovery.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/scsi/status.h"
#include "iser_client/session/session.h"
#include "iser_client/transport/iser_memory.h"
#include "iser_client/uring/timer.h"
#include "ublk/backend.h"

namespace isergw::gateway {

class PublishedQueue;

// What a queue shares with its backend (all owned by the backend, which
// outlives its queues).
struct QueuePaths {
  const iscsi::InitiatorOptions* options = nullptr;
  const std::vector<iscsi::Endpoint>* portals = nullptr;  // the URL's first
  size_t first_portal = 0;
  RecoverySettings* recovery = nullptr;
  PublishedQueue* published = nullptr;
};

// One queue of an IscsiBackend: a session on the queue's loop and one
// ScsiRequest slot per tag, so serving a block request allocates nothing.
//
// Session recovery (ErrorRecoveryLevel 0, RFC 7143 6.3.5): when the session
// dies (transport error, flushed RDMA work requests, NOP-Out ping timeout,
// a target that drops or logs out the session), the requests it had not
// finished are parked, not failed. The queue logs in again with the same
// ISID and TSIH 0, so the target reinstates the session and ends whatever
// the old one still had running before the new one gets a command; checks
// that the same LUN answers (VPD 0x80 serial, 0x83 WWN); then reissues the
// parked requests in their original order. Attempts back off and go round
// the portals. Once the outage is older than the replacement timeout, parked
// and new requests fail with EIO while reconnecting continues; a different
// LUN at the address stops the queue for good (FailQueue).
class IscsiQueue final : public ublk::QueueBackend,
                         private iscsi::SessionObserver,
                         private uring::Timer {
 public:
  // Logs in on context.loop (runs that loop until the login ends).
  static absl::StatusOr<std::unique_ptr<IscsiQueue>> Open(const ublk::QueueContext& context,
                                                          const QueuePaths& paths,
                                                          const iscsi::LunInfo& info);
  ~IscsiQueue() override;

  void Submit(const ublk::IoRequest& io) override;
  // Slices of this queue's own buffer arena: one mapping, which the iSER
  // transport registers whole on its first command, so the driver copies
  // straight into RDMA-registered memory and nothing is registered per I/O.
  void* TagBuffer(uint16_t tag) override { return tag_buffers_[tag]; }

  const iscsi::Session& session() const { return *session_; }
  PathState path_state() const { return state_; }

 private:
  struct Slot {
    iscsi::ScsiRequest request;
    IscsiQueue* queue = nullptr;
    ublk::IoRequest io;
    scsi::RetryBudget retries;
    uint64_t sequence = 0;        // submission order, kept across reissues
    bool parked = false;          // waiting for a session
    uint8_t unmap_list[24] = {};  // UNMAP parameter list: header + one descriptor
  };

  IscsiQueue(const ublk::QueueContext& context, const QueuePaths& paths,
             const iscsi::LunInfo& info);

  // iscsi_queue.cc: the data path.
  void Issue(Slot& slot);
  void Complete(Slot& slot, const iscsi::ScsiResult& result);
  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result);
  bool SessionAcceptsCommands() const;

  // iscsi_queue_recovery.cc: the path's state machine.
  void OnLoginComplete(const absl::Status& status) override;
  void OnSessionFailed(const absl::Status& status) override;
  void OnLoggedOut() override;
  void OnTimer() override;
  void StartLogin();
  void PathLost(const absl::Status& why);
  void StartVerify();
  void IssueVerify();
  static void OnVerifyDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result);
  void VerifyDone(const iscsi::ScsiResult& result);
  void PathRestored();
  void StopPath(const absl::Status& why);
  void Park(Slot& slot);
  void FailParked(int32_t result);
  bool PastReplacementTimeout(uint64_t now_ns) const;
  void RetireSession();
  void PublishSession();
  void PublishCounters();
  const iscsi::Endpoint& portal() const { return (*paths_.portals)[portal_index_]; }

  ublk::QueueContext context_;
  QueuePaths paths_;
  iscsi::LunInfo info_;
  uint64_t lun_field_;
  iscsi::SessionConfig session_config_;  // the ISID stays for every reconnect
  iscsi::TransportFactory transport_factory_;
  std::unique_ptr<iscsi::Session> session_;
  // Sessions that failed inside their own callbacks; destroyed on the next
  // tick, outside them.
  std::vector<std::unique_ptr<iscsi::Session>> retired_sessions_;
  iscsi::SessionStats retired_stats_;         // sums of the sessions before this one
  std::optional<absl::Status> login_result_;  // Open()'s first login

  PathState state_ = PathState::kLoggingIn;
  size_t portal_index_ = 0;
  int attempt_ = 0;               // failed logins since the outage began
  uint64_t outage_since_ns_ = 0;  // 0: no outage
  uint64_t next_attempt_ns_ = 0;
  uint64_t last_publish_ns_ = 0;
  bool failing_ = false;  // past the replacement timeout
  bool closing_ = false;  // our own logout, at destruction
  uint64_t next_sequence_ = 0;
  uint32_t parked_count_ = 0;
  std::vector<uint16_t> reissue_order_;  // sized to the depth at Open

  // Identity check after a reconnect: INQUIRY VPD 0x80, then 0x83.
  iscsi::ScsiRequest verify_request_;
  uint8_t verify_page_ = 0;
  int verify_retries_ = 0;
  LunIdentity verify_found_;
  uint8_t verify_buffer_[255] = {};

  std::vector<Slot> slots_;
  std::optional<iscsi::IoBufferArena> arena_;
  std::vector<void*> tag_buffers_;
  std::unique_ptr<uint8_t, decltype(&free)> zero_block_{nullptr, &free};
};

}  // namespace isergw::gateway

#endif  // GATEWAY_ISCSI_QUEUE_H_
