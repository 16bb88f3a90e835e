#include "tools/cli/daemon_flags.h"

#include "gateway/control_protocol.h"
#include "tools/cli/flags.h"

DEFINE_string(state_dir, "/var/lib/isergw", "daemon: where the attached volumes are recorded");
DEFINE_string(config_dir, "/etc/isergw",
              "daemon: configuration folder (CHAP files in its chap/ folder)");
DEFINE_string(metrics_file, "",
              "daemon: write every volume's counters to this file in Prometheus text format "
              "(for node exporter's textfile collector), refreshed every second");
DEFINE_string(links_root, "/dev", "daemon: where the by-path, by-id and isergw/NAME links go");
DEFINE_string(transport, "",
              "attach: iser, tcp, or auto (iSER, else TCP); default: the URL's scheme decides");
DEFINE_bool(persist, false, "attach: attach the volume again after a reboot");
DEFINE_string(chap, "",
              "attach: CHAP credentials for the daemon: a file name in <config-dir>/chap/ or an "
              "absolute path (mode 0600; the file is recorded, never the secret)");
DEFINE_bool(force, false, "detach: even while the device is mounted or open");
DEFINE_bool(prometheus, false, "status: print the counters in Prometheus text format");
DEFINE_uint32(replacement_timeout, 120,
              "attach: seconds I/O waits for a lost session to come back before it fails with "
              "EIO (reconnecting goes on); 0: fail at once");
DEFINE_string(portals, "",
              "attach: more portals of the target, HOST[:PORT],... tried in turn when one is down");
DEFINE_bool(spread_portals, false, "attach: queues start at different --portals");
DEFINE_bool(discover_portals, false,
            "attach: also use the target's other portals, as SendTargets on the URL's portal "
            "lists them");

namespace isergw::cli {

std::string ControlSocketPath() {
  return FLAGS_socket.empty() ? std::string(gateway::kDefaultControlSocket) : FLAGS_socket;
}

}  // namespace isergw::cli
