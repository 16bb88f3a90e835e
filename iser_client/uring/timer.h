#ifndef ISER_CLIENT_URING_TIMER_H_
#define ISER_CLIENT_URING_TIMER_H_

#include <cstdint>

namespace isergw::uring {

class EventLoop;

// A one-shot timer owned by its user and armed on one EventLoop. Loops hold
// few timers (connect and login deadlines, the session's periodic tick), so
// they live in an intrusive list: arming allocates nothing. Per-command
// timeouts are found by the session's tick, not by a timer per command.
class Timer {
 public:
  virtual void OnTimer() = 0;

  bool armed() const { return armed_; }

 protected:
  ~Timer() = default;

 private:
  friend class EventLoop;
  uint64_t deadline_ns_ = 0;
  Timer* next_ = nullptr;
  Timer* prev_ = nullptr;
  bool armed_ = false;
};

}  // namespace isergw::uring

#endif  // ISER_CLIENT_URING_TIMER_H_
