#ifndef ISER_CLIENT_URING_EVENT_LOOP_H_
#define ISER_CLIENT_URING_EVENT_LOOP_H_

#include <liburing.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "iser_client/uring/completion.h"
#include "iser_client/uring/timer.h"

namespace isergw::uring {

// One io_uring and everything that runs on it, owned by one thread. Every
// transport, backend and frontend of a queue thread submits its SQEs here and
// is called back from Run*(); nothing in it is thread-safe, by design.
//
// A pass: run the pass hooks (batched flushes), submit what is queued and
// wait (for a CQE or the next timer), handle every ready CQE, fire due timers.
class EventLoop {
 public:
  struct Options {
    unsigned entries = 256;
    // 128-byte SQEs, needed for URING_CMD to /dev/ublk-control.
    bool sqe128 = false;
    // Only the creating thread submits (IORING_SETUP_SINGLE_ISSUER): right
    // for data-path loops; a control ring used by whichever thread serves a
    // request (one at a time) turns it off.
    bool single_issuer = true;
  };

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(const Options& options);
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create() { return Create(Options{}); }
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Returns an SQE whose user_data is set to `completion` (may be nullptr for
  // requests whose completion is ignored, e.g. cancels). Never fails: when the
  // SQ ring is full the queued SQEs are submitted first.
  io_uring_sqe* GetSqe(Completion* completion);

  // One pass. With `wait` it blocks until at least one CQE or the next timer
  // deadline (or `max_wait`, whichever is first); without it, it only reaps
  // what is ready (busy polling). Returns the number of CQEs handled.
  absl::StatusOr<int> RunOnce(bool wait, absl::Duration max_wait = absl::InfiniteDuration());

  // Runs passes until `done()` is true or `deadline` passes. Returns
  // DeadlineExceeded in the latter case.
  template <typename Done>
  absl::Status RunUntil(Done done, absl::Time deadline = absl::InfiniteFuture()) {
    const bool bounded = deadline != absl::InfiniteFuture();
    while (!done()) {
      absl::Duration left = absl::InfiniteDuration();
      if (bounded) {  // reading the clock costs; only when there is a deadline
        left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) {
          return absl::DeadlineExceededError("timed out");
        }
      }
      auto ran = RunOnce(true, left);
      if (!ran.ok()) {
        return ran.status();
      }
    }
    return absl::OkStatus();
  }

  void ArmTimer(Timer* timer, absl::Duration after);
  void CancelTimer(Timer* timer);

  // Takes `orphan` until Disown(); deletes it at destruction if still held.
  void Adopt(Orphan* orphan);
  // Gives `orphan` back (it is about to delete itself).
  void Disown(Orphan* orphan);

  // Pass hooks run in the order they were added.
  void AddPassHook(PassHook* hook);
  void RemovePassHook(PassHook* hook);

  // Monotonic clock in nanoseconds, read once per pass (cheap on hot paths).
  uint64_t now_ns() const { return now_ns_; }
  static uint64_t MonotonicNs();

  io_uring* ring() { return &ring_; }
  uint64_t passes() const { return passes_; }
  uint64_t submit_calls() const { return submit_calls_; }

 private:
  EventLoop() = default;
  void FireTimers();
  int64_t NextTimerWaitNs() const;

  io_uring ring_{};
  bool ring_ready_ = false;
  Timer* timers_ = nullptr;  // sorted by deadline
  std::vector<PassHook*> hooks_;
  std::vector<Orphan*> orphans_;
  uint64_t now_ns_ = 0;
  uint64_t passes_ = 0;
  uint64_t submit_calls_ = 0;
};

}  // namespace isergw::uring

#endif  // ISER_CLIENT_URING_EVENT_LOOP_H_
