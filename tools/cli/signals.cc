#include "tools/cli/signals.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace isergw::cli {

absl::StatusOr<int> BlockStopSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (const int err = pthread_sigmask(SIG_BLOCK, &mask, nullptr); err != 0) {
    return absl::InternalError(absl::StrCat("pthread_sigmask: ", strerror(err)));
  }
  signal(SIGPIPE, SIG_IGN);
  const int fd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("signalfd: ", strerror(errno)));
  }
  return fd;
}

absl::StatusOr<StopReason> WaitForStop(const StopWait& wait) {
  pollfd fds[2] = {{wait.signal_fd, POLLIN, 0}, {wait.event_fd, POLLIN, 0}};
  const nfds_t count = wait.event_fd >= 0 ? 2 : 1;
  const int timeout_ms = wait.stopped ? static_cast<int>(wait.check_every.count()) : -1;
  for (;;) {
    const int n = poll(fds, count, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    if (count == 2 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      return StopReason::kEvent;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo info;
      const ssize_t got = read(wait.signal_fd, &info, sizeof(info));
      (void)got;  // the signal itself is all that matters
      return StopReason::kSignal;
    }
    if (wait.stopped && wait.stopped()) {
      return StopReason::kCondition;
    }
  }
}

}  // namespace isergw::cli
