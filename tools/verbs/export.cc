// isergw export URL [--socket PATH | --port N [--bind ADDR]] [--name EXPORT]
//
// Serves the volume at URL over NBD in the foreground, for userspace
// clients (qemu, libnbd's tools, fio's nbd engine): prints the NBD URI as
// the first stdout line once it accepts connections, serves until SIGTERM
// or SIGINT, then lets the connections finish what they have in flight,
// flushes the backend and exits 0.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "nbd/kernel_device.h"
#include "nbd/server.h"
#include "tools/cli/backend.h"
#include "tools/cli/flags.h"
#include "tools/cli/report.h"
#include "tools/cli/signals.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"

namespace isergw::cli {
namespace {

constexpr char kExportUsage[] =
    "usage: isergw export URL [--socket PATH | --port N [--bind ADDR]] [--name EXPORT] "
    "[--depth N]";

absl::Status InvalidArgument(const std::string& message) {
  return iscsi::WithFailure(absl::InvalidArgumentError(message),
                            iscsi::FailureKind::kInvalidArgument);
}

// Any URL isergw knows: RAM, a file or block device, an iSCSI LUN over TCP
// or iSER (one session per NBD connection).
absl::StatusOr<std::string> DefaultSocketPath() {
  const char* dir = "/run/isergw";
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", strerror(errno)));
  }
  return absl::StrCat(dir, "/nbd-", getpid(), ".sock");
}

// What both NBD verbs do before serving: the shared flag checks, the URL,
// the stop signals to a signalfd (before any thread exists, so only this
// thread sees them), then the backend.
struct NbdServing {
  int signal_fd = -1;
  std::unique_ptr<ublk::Backend> backend;
};

absl::StatusOr<NbdServing> PrepareNbdServing(const std::string& url_text) {
  if (FLAGS_depth < 1 || FLAGS_depth > 4096) {
    return InvalidArgument(absl::StrCat("--depth must be between 1 and 4096, got ", FLAGS_depth));
  }
  if (FLAGS_block_size < 0 || FLAGS_block_size > 4096) {
    return InvalidArgument(
        absl::StrCat("block size ", FLAGS_block_size, " is not a power of two up to 4096"));
  }
  auto url = iscsi::ParseUrl(url_text);
  if (!url.ok()) return url.status();
  auto signals = BlockStopSignals();
  if (!signals.ok()) return signals.status();
  auto backend = OpenBackendFromFlags(url_text, *url);
  if (!backend.ok()) {
    close(*signals);
    return backend.status();
  }
  return NbdServing{*signals, std::move(*backend)};
}

}  // namespace

int RunExport(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportFailure(InvalidArgument(kExportUsage));
  }
  if (!FLAGS_socket.empty() && FLAGS_port >= 0) {
    return ReportFailure(InvalidArgument("give --socket or --port, not both"));
  }
  if (FLAGS_port > 65535 || FLAGS_port < -1) {
    return ReportFailure(InvalidArgument(absl::StrCat("--port ", FLAGS_port, " is out of range")));
  }
  auto serving = PrepareNbdServing(args[0]);
  if (!serving.ok()) {
    return ReportFailure(serving.status());
  }
  const int signal_fd = serving->signal_fd;
  std::unique_ptr<ublk::Backend>& backend = serving->backend;

  nbd::ServerOptions options;
  options.export_name = FLAGS_name;
  options.depth = static_cast<uint16_t>(FLAGS_depth);
  if (FLAGS_port >= 0) {
    options.tcp_port = FLAGS_port;
    options.bind_address = FLAGS_bind;
  } else if (!FLAGS_socket.empty()) {
    options.unix_path = FLAGS_socket;
  } else {
    auto path = DefaultSocketPath();
    if (!path.ok()) {
      return ReportFailure(path.status());
    }
    options.unix_path = *path;
  }
  auto server = nbd::Server::Listen(backend.get(), options);
  if (!server.ok()) {
    return ReportFailure(server.status());
  }

  printf("%s\n", (*server)->uri().c_str());
  fflush(stdout);
  fprintf(stderr, "isergw: exporting %s over NBD (%llu bytes, blocks %u..%u)\n",
          backend->Describe().c_str(),
          static_cast<unsigned long long>((*server)->export_info().size),
          (*server)->export_info().min_block, (*server)->export_info().max_block);

  absl::Status served = (*server)->Serve(signal_fd);
  server->reset();
  absl::Status flushed = backend->Flush();
  close(signal_fd);
  if (!served.ok()) {
    return ReportFailure(served);
  }
  if (!flushed.ok()) {
    return ReportFailure(flushed);
  }
  return 0;
}

bool AttachGoesToNbd() {
  if (FLAGS_frontend == "ublk") {
    return false;
  }
  if (FLAGS_frontend == "auto") {
    // ublk where the driver is there (or loaded on demand), else NBD.
    return access("/dev/ublk-control", F_OK) != 0 && access("/sys/module/ublk_drv", F_OK) != 0 &&
           access("/sys/module/nbd", F_OK) == 0;
  }
  return true;  // "nbd", or a bad value RunAttachNbd reports
}

// isergw attach --foreground --frontend nbd [--queues N] [--depth N] URL:
// /dev/nbdN through the kernel's NBD netlink interface, one connection (a
// thread and its io_uring here, a socket in the kernel) per queue.
int RunAttachNbd(const std::vector<std::string>& args) {
  if (FLAGS_frontend != "nbd" && FLAGS_frontend != "auto") {
    return ReportFailure(InvalidArgument(
        absl::StrCat("--frontend must be ublk, nbd or auto, not '", FLAGS_frontend, "'")));
  }
  if (args.size() != 1) {
    return ReportFailure(InvalidArgument(
        "usage: isergw attach --foreground --frontend nbd [--queues N] [--depth N] URL"));
  }
  if (!FLAGS_foreground) {
    return ReportFailure(InvalidArgument(
        "the daemon serves ublk devices only: attach --frontend nbd needs --foreground"));
  }
  if (FLAGS_queues < 1 || FLAGS_queues > 64) {
    return ReportFailure(InvalidArgument(
        absl::StrCat("--queues must be between 1 and 64 for NBD, got ", FLAGS_queues)));
  }
  auto serving = PrepareNbdServing(args[0]);
  if (!serving.ok()) {
    return ReportFailure(serving.status());
  }
  const int signal_fd = serving->signal_fd;
  std::unique_ptr<ublk::Backend>& backend = serving->backend;
  nbd::KernelDeviceOptions options;
  options.connections = static_cast<uint16_t>(FLAGS_queues);
  options.depth = static_cast<uint16_t>(FLAGS_depth);
  // When the kernel's NBD timeout fires it gives up on the connection and
  // sends the request again on another, while the first copy still waits
  // here for the target: a copy landing late could overwrite newer data.
  // So the timeout outlasts the longest the backend holds a request.
  const int64_t hold_s = absl::ToInt64Seconds(backend->LongestRequestHold());
  if (hold_s > 0) {
    options.timeout_seconds =
        static_cast<uint32_t>(std::max<int64_t>(options.timeout_seconds, hold_s + 30));
  }
  auto device = nbd::KernelDevice::Attach(backend.get(), options);
  if (!device.ok()) {
    const absl::Status& status = device.status();
    if (status.code() == absl::StatusCode::kUnavailable) {
      // iscsiadm's "transport module not available", as for a missing ublk.
      const std::string message(status.message());
      fprintf(stderr, "isergw: %s\n", message.c_str());
      return iscsi::ExitCodeValue(iscsi::ExitCode::kTransportNotFound);
    }
    return ReportFailure(status);
  }
  printf("%s\n", (*device)->device_path().c_str());
  fflush(stdout);
  fprintf(stderr,
          "isergw: serving %s as %s over NBD (%d connections, depth %d, kernel timeout %u s)\n",
          backend->Describe().c_str(), (*device)->device_path().c_str(), FLAGS_queues, FLAGS_depth,
          options.timeout_seconds);

  absl::Status served;
  StopWait wait;
  wait.signal_fd = signal_fd;
  wait.stopped = [&] { return (*device)->disconnected(); };
  auto stop = WaitForStop(wait);
  if (!stop.ok()) {
    served = stop.status();
  } else if (*stop == StopReason::kCondition) {
    // The root cause when a connection failed (the target gone, say).
    absl::Status why = (*device)->failure();
    served = !why.ok() ? absl::Status(why.code(),
                                      absl::StrCat((*device)->device_path(), ": ", why.message()))
                       : absl::UnavailableError(absl::StrCat((*device)->device_path(),
                                                             " was disconnected by the kernel"));
    if (!why.ok()) iscsi::TagFailure(served, iscsi::GetFailureKind(why));
  }
  absl::Status detached = (*device)->Detach();
  device->reset();
  absl::Status flushed = backend->Flush();
  close(signal_fd);
  for (const absl::Status& s : {served, detached, flushed}) {
    if (!s.ok()) {
      return ReportFailure(s);
    }
  }
  return 0;
}

}  // namespace isergw::cli
