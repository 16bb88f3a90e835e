// isergw: the command line. Verbs: discover, info, copy, bench.
#include <gflags/gflags.h>
#include <glog/logging.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/cli/flags.h"
#include "tools/doctor/doctor_verb.h"
#include "tools/verbs/verbs.h"

namespace {

constexpr char kUsage[] =
    "usage: isergw VERB [ARGS] [FLAGS]\n"
    "\n"
    "  discover HOST[:PORT]          list the targets a portal offers (SendTargets)\n"
    "  info URL [--json]             identity, size and limits of a LUN\n"
    "  copy SRC DST [--sparse]       copy a local image onto a LUN or a LUN into a file\n"
    "  bench URL [--rw R] [--bs B] [--qd N] [--seconds S] [--json]\n"
    "                                measure IOPS, throughput, latency and CPU per I/O\n"
    "  attach URL [--queues N] [--depth N] [--name NAME] [--transport iser|tcp|auto]\n"
    "         [--persist] [--chap NAME | --chap-file PATH] [--replacement-timeout S]\n"
    "         [--portals HOST[:PORT][@IFACE],...] [--discover-portals] [--spread-portals]\n"
    "         [--iface IFACE]\n"
    "                                attach a LUN, file:///PATH or mem://SIZE through the daemon;\n"
    "                                prints /dev/ublkbN once it takes I/O\n"
    "  attach --foreground [--queues N] [--depth N] [--recover /dev/ublkbN] URL\n"
    "                                serve it from this process instead, without a daemon\n"
    "                                (--frontend nbd: /dev/nbdN; auto: ublk if present)\n"
    "  export URL [--socket PATH | --port N [--bind ADDR]] [--name EXPORT]\n"
    "                                serve URL over NBD until SIGTERM (prints the NBD URI)\n"
    "  detach DEVICE|NAME [--force]  flush and remove a volume (refused while in use)\n"
    "  list [--json]                 the daemon's volumes with live IOPS and latency\n"
    "  status [DEVICE|NAME] [--json | --prometheus]\n"
    "                                sessions, parameters and counters of volumes\n"
    "  set DEVICE|NAME replacement-timeout=S\n"
    "                                change how long I/O waits for a lost session, live\n"
    "  daemon [--socket PATH] [--state-dir DIR] [--config-dir DIR] [--metrics-file PATH]\n"
    "                                hold attached volumes (systemd: isergw.service)\n"
    "  doctor [PORTAL_OR_URL] [--json]\n"
    "                                check ublk, io_uring, NBD, RDMA and a portal's reachability\n"
    "\n"
    "URL: iscsi://[user[%password]@]host[:port]/target-iqn/lun (iser:// likewise).\n"
    "CHAP secrets: --chap-file FILE (mode 0600) or ISERGW_CHAP_USER/ISERGW_CHAP_SECRET.\n"
    "Run `isergw --help` for every flag.";

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(kUsage);
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = FLAGS_verbose ? 0 : 1;
  google::InitGoogleLogging(argv[0]);

  if (argc < 2) {
    fprintf(stderr, "%s\n", kUsage);
    return 7;  // iscsiadm's "invalid argument"
  }
  std::string verb = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (verb == "discover") return isergw::cli::RunDiscover(args);
  if (verb == "info") return isergw::cli::RunInfo(args);
  if (verb == "copy") return isergw::cli::RunCopy(args);
  if (verb == "bench") return isergw::cli::RunBench(args);
  if (verb == "attach") {
    if (isergw::cli::AttachGoesToNbd()) return isergw::cli::RunAttachNbd(args);
    return isergw::cli::RunAttach(args);
  }
  if (verb == "export") return isergw::cli::RunExport(args);
  if (verb == "daemon") return isergw::cli::RunDaemon(args);
  if (verb == "detach") return isergw::cli::RunDetach(args);
  if (verb == "list") return isergw::cli::RunList(args);
  if (verb == "status") return isergw::cli::RunStatus(args);
  if (verb == "set") return isergw::cli::RunSet(args);
  if (verb == "doctor") return isergw::cli::RunDoctor(args);
  if (verb == "help") {
    printf("%s\n", kUsage);
    return 0;
  }
  fprintf(stderr, "isergw: unknown verb '%s'\n%s\n", verb.c_str(), kUsage);
  return 7;
}
