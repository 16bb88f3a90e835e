#ifndef ISER_CLIENT_URING_COMPLETION_H_
#define ISER_CLIENT_URING_COMPLETION_H_

#include <cstdint>

namespace isergw::uring {

// The receiver of one CQE. Every SQE submitted through an EventLoop carries a
// pointer to one of these as its user_data, so a completion finds its owner
// without a lookup (Seastar's kernel_completion, SPDK's typed wr_id).
class Completion {
 public:
  // `res` is the CQE's result (negative errno on failure); `flags` its flags
  // (IORING_CQE_F_MORE for multishot requests that stay armed).
  virtual void OnComplete(int32_t res, uint32_t flags) = 0;

 protected:
  ~Completion() = default;
};

// Runs once per loop pass, just before the loop submits and waits, so that
// everything queued since the previous pass (by CQE handlers, timers or the
// caller) goes out together: many commands cost one doorbell (one sendmsg,
// one ibv_post_send).
class PassHook {
 public:
  virtual void BeforeSubmit() = 0;

 protected:
  ~PassHook() = default;
};

// State that in-flight requests still point at after its owner is gone (a
// closed connection's buffers and completions). It frees itself when its last
// request completes; the loop frees what is left when it is destroyed, after
// the ring (and with it every request) is gone.
class Orphan {
 public:
  virtual ~Orphan() = default;
};

}  // namespace isergw::uring

#endif  // ISER_CLIENT_URING_COMPLETION_H_
