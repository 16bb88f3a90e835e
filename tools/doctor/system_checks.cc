#include "tools/doctor/system_checks.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace isergw::doctor {
namespace {

std::string FormatBytes(uint64_t bytes) {
  if (bytes >= (uint64_t{1} << 30)) return absl::StrCat(bytes >> 30, " GiB");
  if (bytes >= (uint64_t{1} << 20)) return absl::StrCat(bytes >> 20, " MiB");
  return absl::StrCat(bytes >> 10, " KiB");
}

// Each ublk queue registers its tag buffers (depth x 512 KiB at most) and
// PDU slots once: 64 MiB covers a default attach with room to spare.
constexpr uint64_t kMemlockWanted = uint64_t{64} << 20;

}  // namespace

CheckResult DecideRoot(uid_t euid) {
  if (euid == 0) return {"root", Verdict::kOk, "running as root", ""};
  return {"root", Verdict::kWarn,
          absl::StrCat("running as uid ", euid,
                       ": creating ublk or NBD devices and talking to the daemon need root"),
          "run isergw as root (sudo isergw ...)"};
}

std::optional<uint64_t> ParseEffectiveCapabilities(absl::string_view proc_status) {
  for (absl::string_view line : absl::StrSplit(proc_status, '\n')) {
    if (!absl::ConsumePrefix(&line, "CapEff:")) continue;
    line = absl::StripAsciiWhitespace(line);
    uint64_t caps = 0;
    if (line.empty() || line.size() > 16 || !absl::SimpleHexAtoi(line, &caps)) {
      return std::nullopt;
    }
    return caps;
  }
  return std::nullopt;
}

CheckResult DecideMemlock(uint64_t limit, bool cap_ipc_lock) {
  CheckResult result{"memlock", Verdict::kOk, "", ""};
  if (cap_ipc_lock) {
    result.detail = "CAP_IPC_LOCK: RDMA memory registration is not limited";
    return result;
  }
  if (limit == RLIM_INFINITY) {
    result.detail = "locked-memory limit: unlimited";
    return result;
  }
  if (limit >= kMemlockWanted) {
    result.detail = absl::StrCat("locked-memory limit: ", FormatBytes(limit));
    return result;
  }
  result.verdict = Verdict::kWarn;
  result.detail = absl::StrCat("locked-memory limit ", FormatBytes(limit),
                               " is small for iSER's registered buffers (64 MiB or more)");
  result.fix = "ulimit -l unlimited (LimitMEMLOCK=infinity in a systemd unit), or run as root";
  return result;
}

SocketProbe ProbeControlSocket(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return errno == EACCES ? SocketProbe::kDenied : SocketProbe::kAbsent;
  }
  if (!S_ISSOCK(st.st_mode)) return SocketProbe::kNotSocket;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) return SocketProbe::kError;
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketProbe::kError;
  // Connecting only: the daemon sees a client that leaves without a request.
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  const int error = errno;
  close(fd);
  if (rc == 0) return SocketProbe::kAccepting;
  if (error == ECONNREFUSED) return SocketProbe::kRefused;
  if (error == EACCES || error == EPERM) return SocketProbe::kDenied;
  return SocketProbe::kError;
}

CheckResult DecideDaemon(const std::string& path, SocketProbe probe) {
  CheckResult result{"daemon", Verdict::kWarn, "", ""};
  const std::string start =
      "systemctl start isergw (or run `isergw daemon`); attach --foreground works without it";
  switch (probe) {
    case SocketProbe::kAccepting:
      result.verdict = Verdict::kOk;
      result.detail = absl::StrCat("the daemon accepts connections on ", path);
      break;
    case SocketProbe::kAbsent:
      result.detail = absl::StrCat("no daemon: ", path, " does not exist");
      result.fix = start;
      break;
    case SocketProbe::kRefused:
      result.detail = absl::StrCat(path, " exists but nobody listens (a daemon died?)");
      result.fix = "systemctl restart isergw (journalctl -u isergw says why it stopped)";
      break;
    case SocketProbe::kDenied:
      result.detail = absl::StrCat("permission denied on ", path);
      result.fix = "run as root: only root may talk to the daemon";
      break;
    case SocketProbe::kNotSocket:
      result.detail = absl::StrCat(path, " exists but is not a socket");
      result.fix = absl::StrCat("remove ", path, " and start the daemon (systemctl start isergw)");
      break;
    case SocketProbe::kError:
      result.detail = absl::StrCat("cannot connect to ", path);
      result.fix = start;
      break;
  }
  return result;
}

}  // namespace isergw::doctor
