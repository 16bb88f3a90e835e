#ifndef TOOLS_CLI_DAEMON_FLAGS_H_
#define TOOLS_CLI_DAEMON_FLAGS_H_

#include <gflags/gflags.h>

#include <string>

// Flags of the daemon and of the verbs that talk to it (daemon_flags.cc).
// --socket and --name are shared with export (flags.h).
DECLARE_string(state_dir);
DECLARE_string(config_dir);
DECLARE_string(metrics_file);
DECLARE_string(links_root);
DECLARE_string(transport);
DECLARE_bool(persist);
DECLARE_string(chap);
DECLARE_bool(force);
DECLARE_bool(prometheus);
DECLARE_uint32(replacement_timeout);
DECLARE_string(portals);
DECLARE_bool(spread_portals);
DECLARE_bool(discover_portals);

namespace isergw::cli {

// --socket, or the daemon's default control socket.
std::string ControlSocketPath();

}  // namespace isergw::cli

#endif  // TOOLS_CLI_DAEMON_FLAGS_H_
