#include "iser_client/uring/event_loop.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace isergw::uring {
namespace {

int SetupRing(unsigned entries, unsigned base_flags, bool single_issuer, io_uring* ring) {
  // SINGLE_ISSUER and COOP_TASKRUN (6.0, 5.19) spare the kernel inter-processor
  // interrupts; older kernels refuse them, so fall back to plain flags.
  io_uring_params params{};
  params.flags =
      base_flags | IORING_SETUP_COOP_TASKRUN | (single_issuer ? IORING_SETUP_SINGLE_ISSUER : 0);
  int ret = io_uring_queue_init_params(entries, ring, &params);
  if (ret == -EINVAL) {
    params = io_uring_params{};
    params.flags = base_flags;
    ret = io_uring_queue_init_params(entries, ring, &params);
  }
  return ret;
}

}  // namespace

uint64_t EventLoop::MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(const Options& options) {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  unsigned flags = options.sqe128 ? IORING_SETUP_SQE128 : 0;
  int ret = SetupRing(options.entries, flags, options.single_issuer, &loop->ring_);
  if (ret < 0) {
    if (ret == -ENOSYS || ret == -EPERM) {
      return absl::UnavailableError(
          absl::StrCat("io_uring is not available (", strerror(-ret),
                       "): the kernel lacks it or kernel.io_uring_disabled is set"));
    }
    return absl::InternalError(absl::StrCat("io_uring_queue_init: ", strerror(-ret)));
  }
  loop->ring_ready_ = true;
  loop->now_ns_ = MonotonicNs();
  return loop;
}

EventLoop::~EventLoop() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
  for (Orphan* orphan : orphans_) delete orphan;
}

void EventLoop::Adopt(Orphan* orphan) { orphans_.push_back(orphan); }

void EventLoop::Disown(Orphan* orphan) {
  orphans_.erase(std::remove(orphans_.begin(), orphans_.end(), orphan), orphans_.end());
}

io_uring_sqe* EventLoop::GetSqe(Completion* completion) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    ++submit_calls_;
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  io_uring_sqe_set_data(sqe, completion);
  return sqe;
}

int64_t EventLoop::NextTimerWaitNs() const {
  if (timers_ == nullptr) return -1;
  uint64_t now = MonotonicNs();
  return timers_->deadline_ns_ > now ? static_cast<int64_t>(timers_->deadline_ns_ - now) : 0;
}

absl::StatusOr<int> EventLoop::RunOnce(bool wait, absl::Duration max_wait) {
  ++passes_;
  // Flush what was queued since the last pass (by CQE handlers, timers, or
  // callers between passes) right before submitting: one doorbell per pass.
  // Hooks may remove themselves, hence the index.
  for (size_t i = 0; i < hooks_.size(); ++i) hooks_[i]->BeforeSubmit();
  ++submit_calls_;
  int ret;
  if (wait) {
    int64_t wait_ns = NextTimerWaitNs();
    if (max_wait != absl::InfiniteDuration()) {
      int64_t cap = std::max<int64_t>(0, absl::ToInt64Nanoseconds(max_wait));
      wait_ns = wait_ns < 0 ? cap : std::min(wait_ns, cap);
    }
    io_uring_cqe* cqe = nullptr;
    if (wait_ns < 0) {
      ret = io_uring_submit_and_wait(&ring_, 1);
    } else {
      __kernel_timespec ts{.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
      ret = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
  } else {
    ret = io_uring_submit(&ring_);
  }
  if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN) {
    return absl::InternalError(absl::StrCat("io_uring_submit: ", strerror(-ret)));
  }
  now_ns_ = MonotonicNs();

  int handled = 0;
  io_uring_cqe* cqes[64];
  for (;;) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 64);
    if (n == 0) break;
    for (unsigned i = 0; i < n; ++i) {
      auto* completion = static_cast<Completion*>(io_uring_cqe_get_data(cqes[i]));
      int32_t res = cqes[i]->res;
      uint32_t flags = cqes[i]->flags;
      // Advance before the callback: it may submit and wait itself.
      io_uring_cq_advance(&ring_, 1);
      if (completion != nullptr) completion->OnComplete(res, flags);
    }
    handled += static_cast<int>(n);
  }
  FireTimers();
  return handled;
}

void EventLoop::ArmTimer(Timer* timer, absl::Duration after) {
  CancelTimer(timer);
  timer->deadline_ns_ =
      MonotonicNs() + static_cast<uint64_t>(std::max<int64_t>(0, absl::ToInt64Nanoseconds(after)));
  timer->armed_ = true;
  Timer** link = &timers_;
  Timer* prev = nullptr;
  while (*link != nullptr && (*link)->deadline_ns_ <= timer->deadline_ns_) {
    prev = *link;
    link = &(*link)->next_;
  }
  timer->next_ = *link;
  timer->prev_ = prev;
  if (*link != nullptr) (*link)->prev_ = timer;
  *link = timer;
}

void EventLoop::CancelTimer(Timer* timer) {
  if (!timer->armed_) return;
  if (timer->prev_ != nullptr) {
    timer->prev_->next_ = timer->next_;
  } else {
    timers_ = timer->next_;
  }
  if (timer->next_ != nullptr) timer->next_->prev_ = timer->prev_;
  timer->next_ = timer->prev_ = nullptr;
  timer->armed_ = false;
}

void EventLoop::FireTimers() {
  while (timers_ != nullptr && timers_->deadline_ns_ <= now_ns_) {
    Timer* due = timers_;
    CancelTimer(due);
    due->OnTimer();  // may re-arm itself
  }
}

void EventLoop::AddPassHook(PassHook* hook) { hooks_.push_back(hook); }

void EventLoop::RemovePassHook(PassHook* hook) {
  hooks_.erase(std::remove(hooks_.begin(), hooks_.end(), hook), hooks_.end());
}

}  // namespace isergw::uring
