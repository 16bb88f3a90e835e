#ifndef GATEWAY_ISCSI_QUEUE_H_
#define GATEWAY_ISCSI_QUEUE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/scsi/status.h"
#include "iser_client/session/session.h"
#include "iser_client/transport/iser_memory.h"
#include "iser_client/uring/timer.h"
#include "ublk/backend.h"

namespace isergw::gateway {

struct PublishedSessionCounters;

// One queue of an IscsiBackend: a session on the queue's loop and one
// ScsiRequest slot per tag, so serving a block request allocates nothing.
class IscsiQueue final : public ublk::QueueBackend,
                         private iscsi::SessionObserver,
                         private uring::Timer {
 public:
  // Logs in on context.loop (runs that loop until the login ends).
  // `counters` (may be null) receives the session's counters once a second.
  static absl::StatusOr<std::unique_ptr<IscsiQueue>> Open(const ublk::QueueContext& context,
                                                          const iscsi::InitiatorOptions& options,
                                                          const iscsi::LunInfo& info,
                                                          PublishedSessionCounters* counters);
  ~IscsiQueue() override;

  void Submit(const ublk::IoRequest& io) override;
  // Slices of this queue's own buffer arena: one mapping, which the iSER
  // transport registers whole on its first command, so the driver copies
  // straight into RDMA-registered memory and nothing is registered per I/O.
  void* TagBuffer(uint16_t tag) override { return tag_buffers_[tag]; }

  const iscsi::Session& session() const { return *session_; }

 private:
  struct Slot {
    iscsi::ScsiRequest request;
    IscsiQueue* queue = nullptr;
    ublk::IoRequest io;
    scsi::RetryBudget retries;
    uint8_t unmap_list[24] = {};  // UNMAP parameter list: header + one descriptor
  };

  IscsiQueue(const ublk::QueueContext& context, const iscsi::LunInfo& info);
  void Issue(Slot& slot);
  void Complete(Slot& slot, const iscsi::ScsiResult& result);
  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result);

  void OnLoginComplete(const absl::Status& status) override { login_result_ = status; }
  void OnTimer() override;
  void OnSessionFailed(const absl::Status& status) override;

  ublk::QueueContext context_;
  PublishedSessionCounters* counters_ = nullptr;
  iscsi::LunInfo info_;
  uint64_t lun_field_;
  std::unique_ptr<iscsi::Session> session_;
  std::optional<absl::Status> login_result_;
  std::vector<Slot> slots_;
  std::optional<iscsi::IoBufferArena> arena_;
  std::vector<void*> tag_buffers_;
  std::unique_ptr<uint8_t, decltype(&free)> zero_block_{nullptr, &free};
};

}  // namespace isergw::gateway

#endif  // GATEWAY_ISCSI_QUEUE_H_
