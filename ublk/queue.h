// One ublk hardware queue: a thread with its own io_uring (a uring::EventLoop)
// that fetches requests from /dev/ublkcN, hands them to its QueueBackend and
// commits the results (FETCH_REQ once per tag, then COMMIT_AND_FETCH_REQ).
// The backend runs on the same loop, so its own completions (file reads,
// iSCSI PDUs) and the ublk commands share one ring and one thread.
#ifndef UBLK_QUEUE_H_
#define UBLK_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/status/status.h"
#include "ublk/backend.h"
#include "ublk/io_stats.h"
#include "ublk/uapi.h"

namespace isergw::ublk {

// Told about a queue that cannot go on; called on that queue's thread, so
// implementations must be thread-safe.
class QueueEvents {
 public:
  virtual void OnQueueFailed(uint16_t queue_id, const absl::Status& why) = 0;

 protected:
  ~QueueEvents() = default;
};

struct QueueConfig {
  uint16_t queue_id = 0;
  uint16_t depth = 0;
  uint32_t buffer_bytes = 0;  // the driver's max_io_buf_bytes
  int char_fd = -1;           // /dev/ublkcN, shared by all queues
  OpcodeEncoding encoding = OpcodeEncoding::kIoctl;
  Geometry geometry;
  Backend* backend = nullptr;
  QueueEvents* events = nullptr;
};

class Queue {
 public:
  explicit Queue(const QueueConfig& config);
  ~Queue();  // RequestStop() and Join()
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Starts the thread and returns once every tag's FETCH_REQ is with the
  // driver (then START_DEV or END_USER_RECOVERY can complete), or with the
  // reason the queue could not be set up (the thread has then ended).
  absl::Status Start();

  // Thread-safe. The thread ends once the driver has aborted every fetch
  // (which STOP_DEV does) or, after this call, once no request is left with
  // the backend; the ring's teardown cancels the fetches still pending.
  void RequestStop();
  void Join();

  // What this queue has served; readable from any thread.
  const IoStats& stats() const { return stats_; }

 private:
  friend class QueueRunner;
  QueueConfig config_;
  int wake_fd_ = -1;  // eventfd: RequestStop wakes the loop through it
  std::thread thread_;
  std::atomic<bool> stop_requested_{false};
  IoStats stats_;
};

}  // namespace isergw::ublk

#endif  // UBLK_QUEUE_H_
