// isergw daemon [--socket PATH] [--state-dir DIR] [--config-dir DIR]
//               [--metrics-file PATH]
//
// Runs in the foreground as systemd expects: READY=1 (sd_notify) once the
// recorded volumes are back and the control socket answers. SIGTERM or
// SIGINT ends it without detaching anything: see gateway/daemon.h.
#include "gateway/daemon.h"

#include <glog/logging.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "tools/cli/daemon_flags.h"
#include "tools/cli/flags.h"
#include "tools/cli/report.h"
#include "tools/cli/signals.h"
#include "tools/verbs/verbs.h"

namespace isergw::cli {

int RunDaemon(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return ReportFailure(absl::InvalidArgumentError(
        "usage: isergw daemon [--socket PATH] [--state-dir DIR] [--config-dir DIR] "
        "[--metrics-file PATH]"));
  }
  // Before any thread exists, so only this thread sees the signals.
  auto signal_fd = BlockStopSignals();
  if (!signal_fd.ok()) return ReportFailure(signal_fd.status());

  FLAGS_minloglevel = 0;  // a service's log is its journal: INFO belongs there
  gateway::DaemonOptions options;
  options.socket_path = ControlSocketPath();
  options.state_dir = FLAGS_state_dir;
  options.config_dir = FLAGS_config_dir;
  options.metrics_file = FLAGS_metrics_file;
  options.links_root = FLAGS_links_root;
  auto daemon = gateway::Daemon::Start(options);
  if (!daemon.ok()) {
    sd_notifyf(0, "STATUS=failed: %s", std::string(daemon.status().message()).c_str());
    return ReportFailure(daemon.status(), "isergw daemon");
  }
  const std::string ready =
      absl::StrCat("listening on ", options.socket_path, "; ", (*daemon)->restored(),
                   " volume(s) restored, ", (*daemon)->restore_failures(), " failed");
  LOG(INFO) << "isergw daemon: " << ready;
  sd_notifyf(0, "READY=1\nSTATUS=%s", ready.c_str());

  absl::Status ran = (*daemon)->Run(*signal_fd);
  sd_notify(0, "STOPPING=1");
  if (!ran.ok()) ReportFailure(ran, "isergw daemon");
  (*daemon)->StopListening();
  // Hand over: end the process without destroying the Daemon, whose
  // destructor would delete the devices. The kernel closes the ublk
  // character devices and holds their I/O for the next daemon.
  fflush(stdout);
  fflush(stderr);
  _exit(ran.ok() ? 0 : 1);
}

}  // namespace isergw::cli
