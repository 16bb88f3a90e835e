// isergw doctor [PORTAL_OR_URL] [--json] [--timeout S]
#include "tools/doctor/doctor_verb.h"

#include <cstdio>

#include "tools/cli/flags.h"
#include "tools/doctor/doctor.h"
#include "tools/doctor/report.h"
#include "tools/doctor/system_checks.h"

namespace isergw::cli {

int RunDoctor(const std::vector<std::string>& args) {
  if (args.size() > 1) {
    fprintf(stderr, "usage: isergw doctor [HOST[:PORT] | iscsi://... | iser://...] [--json]\n");
    return 7;  // iscsiadm's "invalid argument", as every verb
  }
  doctor::DoctorOptions options;
  // The daemon's control socket as the other daemon verbs find it.
  options.control_socket = FLAGS_socket.empty() ? doctor::kDefaultControlSocket : FLAGS_socket;
  options.timeout = absl::Seconds(FLAGS_timeout > 0 ? FLAGS_timeout : 5);
  if (!args.empty()) {
    auto portal = doctor::ParsePortalArgument(args[0]);
    if (!portal.ok()) {
      fprintf(stderr, "isergw doctor: %s\n", std::string(portal.status().message()).c_str());
      return 7;
    }
    options.portal = *portal;
  }
  const std::vector<doctor::CheckResult> results = doctor::RunChecks(options);
  const std::string text = FLAGS_json ? doctor::FormatJson(results) : doctor::FormatText(results);
  fputs(text.c_str(), stdout);
  return doctor::AnyFailed(results) ? 1 : 0;
}

}  // namespace isergw::cli
