// isergw attach URL [--queues N] [--depth N] [--name NAME] [--transport T]
//                   [--persist] [--chap NAME | --chap-file PATH]
//   asks the daemon to attach an iSCSI LUN (iscsi://, iser://), file:///PATH
//   or mem://SIZE as /dev/ublkbN and prints the device path once it takes I/O.
// isergw attach --foreground [--queues N] [--depth N] [--recover /dev/ublkbN] URL
//   serves it from this process instead, without a daemon: prints the device
//   path as the first stdout line, serves until SIGTERM or SIGINT (or until
//   the backend fails for good), then stops and deletes the device. With
//   --recover it takes over a device whose server died.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gateway/backend_factory.h"
#include "gateway/control_socket.h"
#include "gateway/volume_spec.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "tools/cli/backend.h"
#include "tools/cli/daemon_flags.h"
#include "tools/cli/flags.h"
#include "tools/cli/rdma_flags.h"
#include "tools/cli/report.h"
#include "tools/cli/signals.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"
#include "ublk/control.h"
#include "ublk/device.h"

namespace isergw::cli {
namespace {

constexpr char kAttachUsage[] =
    "usage: isergw attach URL [--queues N] [--depth N] [--name NAME] [--transport iser|tcp|auto] "
    "[--persist] [--chap NAME | --chap-file PATH] [--replacement-timeout S] "
    "[--portals HOST[:PORT][@IFACE],...] [--discover-portals] [--spread-portals] [--iface IFACE]\n"
    "       isergw attach --foreground [--queues N] [--depth N] [--block_size B] "
    "[--recover /dev/ublkbN] URL";

int Fail(const absl::Status& status) {
  const int code = ReportFailure(status);
  // iscsiadm's "transport module not available" for a missing ublk driver.
  if (status.GetPayload(ublk::kDriverMissingPayload).has_value()) {
    return iscsi::ExitCodeValue(iscsi::ExitCode::kTransportNotFound);
  }
  return code;
}

// Logging in (with its own timeouts) and creating the device.
constexpr absl::Duration kAttachTimeout = absl::Minutes(3);

absl::Status InvalidArgument(std::string message) {
  return iscsi::WithFailure(absl::InvalidArgumentError(std::move(message)),
                            iscsi::FailureKind::kInvalidArgument);
}

// The daemon reads CHAP from files only: it has neither the user's
// environment nor a place to keep a secret from a URL across restarts.
absl::StatusOr<std::string> ChapReference() {
  if (!FLAGS_chap.empty() && !FLAGS_chap_file.empty()) {
    return InvalidArgument("give --chap or --chap-file, not both");
  }
  if (!FLAGS_chap_file.empty()) {
    std::error_code error;
    return std::filesystem::absolute(FLAGS_chap_file, error).string();
  }
  if (FLAGS_chap.empty() &&
      (getenv("ISERGW_CHAP_USER") != nullptr || getenv("ISERGW_CHAP_SECRET") != nullptr)) {
    return InvalidArgument(
        "the daemon cannot see ISERGW_CHAP_* in your environment: put the credentials in a file "
        "of mode 0600 and pass --chap-file PATH (or --chap NAME for /etc/isergw/chap/NAME)");
  }
  return FLAGS_chap;
}

int AttachThroughDaemon(const std::string& url) {
  gateway::VolumeSpec spec;
  spec.url = url;
  spec.name = FLAGS_name;
  spec.queues = static_cast<uint16_t>(FLAGS_queues);
  spec.depth = static_cast<uint16_t>(FLAGS_depth);
  spec.persist = FLAGS_persist;
  spec.header_digest = FLAGS_header_digest;
  spec.data_digest = FLAGS_data_digest;
  spec.block_size = static_cast<uint32_t>(FLAGS_block_size);
  spec.strict_rdma = FLAGS_strict_rdma;
  spec.busy_poll = FLAGS_busy_poll;
  spec.replacement_timeout_s = FLAGS_replacement_timeout;
  spec.portals = FLAGS_portals;
  spec.spread_portals = FLAGS_spread_portals;
  spec.discover_portals = FLAGS_discover_portals;
  spec.iface = FLAGS_iface;
  auto transport = gateway::ParseTransportChoice(FLAGS_transport);
  if (!transport.ok()) return Fail(transport.status());
  spec.transport = *transport;
  auto chap = ChapReference();
  if (!chap.ok()) return Fail(chap.status());
  spec.chap = *chap;
  // Checked here too, so a secret in the URL never leaves this process.
  gateway::VolumeSpec checked = spec;
  if (checked.name.empty()) checked.name = gateway::DefaultVolumeName(url);
  if (absl::Status s = gateway::ValidateVolumeSpec(checked); !s.ok()) return Fail(s);

  const nlohmann::json request = {{"op", "attach"}, {"volume", gateway::VolumeSpecToJson(spec)}};
  auto reply = gateway::CallDaemon(ControlSocketPath(), request, kAttachTimeout);
  if (!reply.ok()) return ReportFailure(reply.status());
  if (FLAGS_json) {
    reply->erase("ok");
    PrintJson(*reply);
  } else {
    printf("%s\n", reply->value("device", "").c_str());
  }
  if (reply->contains("warning")) {
    fprintf(stderr, "isergw: warning: %s\n", reply->value("warning", "").c_str());
  }
  return 0;
}

}  // namespace

int RunAttach(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return Fail(InvalidArgument(kAttachUsage));
  }
  if (FLAGS_queues < 1 || FLAGS_queues > 65535) {
    return Fail(InvalidArgument(absl::StrCat("--queues must be at least 1, got ", FLAGS_queues)));
  }
  if (FLAGS_depth < 1 || FLAGS_depth > 65535) {
    return Fail(InvalidArgument(absl::StrCat("--depth must be between 1 and ", ublk::kMaxQueueDepth,
                                             ", got ", FLAGS_depth)));
  }
  if (!FLAGS_foreground) {
    return AttachThroughDaemon(args[0]);
  }
  auto url = iscsi::ParseUrl(args[0]);
  if (!url.ok()) {
    return Fail(url.status());
  }
  std::optional<uint32_t> recover_id;
  if (!FLAGS_recover.empty()) {
    auto id = ublk::ParseDevicePath(FLAGS_recover);
    if (!id.ok()) {
      return Fail(id.status());
    }
    recover_id = *id;
  }

  // Before any queue thread exists, so only this thread sees the signals.
  auto signal_fd = BlockStopSignals();
  if (!signal_fd.ok()) {
    return Fail(signal_fd.status());
  }

  auto backend = OpenBackendFromFlags(args[0], *url);
  if (!backend.ok()) {
    return Fail(backend.status());
  }

  absl::StatusOr<std::unique_ptr<ublk::Device>> device;
  if (recover_id) {
    device = ublk::Device::Recover(backend->get(), *recover_id);
  } else {
    ublk::DeviceOptions options;
    options.queues = static_cast<uint16_t>(FLAGS_queues);
    options.depth = static_cast<uint16_t>(FLAGS_depth);
    device = ublk::Device::Create(backend->get(), options);
  }
  if (!device.ok()) {
    return Fail(device.status());
  }

  printf("%s\n", (*device)->block_path().c_str());
  fflush(stdout);
  fprintf(stderr, "isergw: serving %s as %s (%u queues, depth %u)%s\n",
          (*backend)->Describe().c_str(), (*device)->block_path().c_str(),
          (*device)->info().nr_hw_queues, (*device)->info().queue_depth,
          recover_id ? " after recovery" : "");

  // Until SIGTERM/SIGINT, or a queue's backend failing for good.
  auto reason = WaitForStop({.signal_fd = *signal_fd, .event_fd = (*device)->failure_fd()});
  absl::Status served = !reason.ok()                    ? reason.status()
                        : *reason == StopReason::kEvent ? (*device)->failure()
                                                        : absl::OkStatus();
  absl::Status stopped = (*device)->Stop();
  device->reset();
  close(*signal_fd);
  if (!served.ok()) {
    return Fail(served);
  }
  if (!stopped.ok()) {
    return Fail(stopped);
  }
  return 0;
}

}  // namespace isergw::cli
