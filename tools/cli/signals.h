#ifndef TOOLS_CLI_SIGNALS_H_
#define TOOLS_CLI_SIGNALS_H_

#include <chrono>
#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace isergw::cli {

// SIGTERM and SIGINT blocked and delivered to a signalfd instead, SIGPIPE
// ignored (a peer that hangs up is an error return, not a death). Call it
// before any thread starts: threads inherit the blocked mask, so only the
// caller's signalfd ever sees the signals. Returns the fd (close-on-exec),
// which the caller owns.
absl::StatusOr<int> BlockStopSignals();

// What ended a WaitForStop.
enum class StopReason {
  kSignal,     // SIGTERM or SIGINT arrived on the signalfd (and was consumed)
  kEvent,      // `event_fd` became readable
  kCondition,  // `stopped()` returned true on one of the periodic checks
};

struct StopWait {
  int signal_fd = -1;
  // Optional: another fd that ends the wait when readable (a failure
  // eventfd, say); -1 for none.
  int event_fd = -1;
  // Optional: polled every `check_every` when set.
  std::function<bool()> stopped;
  std::chrono::milliseconds check_every{1000};
};

// Blocks until a stop signal, the event fd or the condition. EINTR is
// retried; any other poll failure is an Internal error.
absl::StatusOr<StopReason> WaitForStop(const StopWait& wait);

}  // namespace isergw::cli

#endif  // TOOLS_CLI_SIGNALS_H_
