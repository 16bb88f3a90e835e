#include "gateway/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/control_protocol.h"
#include "iser_client/config/exit_codes.h"

namespace isergw::gateway {
namespace {

absl::StatusOr<sockaddr_un> AddressOf(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path '", path, "' must be 1 to ",
                                                   sizeof(address.sun_path) - 1, " bytes"));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  return address;
}

// -1 with errno set when nobody answers.
int ConnectTo(const sockaddr_un& address) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlListener>> ControlListener::Listen(const std::string& path) {
  auto address = AddressOf(path);
  if (!address.ok()) return address.status();
  std::error_code error;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty() && !std::filesystem::exists(folder, error)) {
    std::filesystem::create_directories(folder, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", folder.string(), ": ", error.message()));
    }
    chmod(folder.c_str(), 0755);
  }
  if (const int other = ConnectTo(*address); other >= 0) {
    close(other);
    return absl::AlreadyExistsError(absl::StrCat("another isergw daemon is listening on ", path));
  }
  unlink(path.c_str());  // a dead daemon's socket

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  // Created 0600 from the start: no moment where others could connect.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof(*address));
  const int bind_errno = errno;
  umask(old_mask);
  if (bound != 0 || listen(fd, 64) != 0) {
    const int saved = bound != 0 ? bind_errno : errno;
    close(fd);
    return absl::InternalError(absl::StrCat("cannot listen on ", path, ": ", strerror(saved)));
  }
  return std::unique_ptr<ControlListener>(new ControlListener(fd, path));
}

ControlListener::~ControlListener() {
  close(fd_);
  unlink(path_.c_str());
}

int ControlListener::Accept() { return accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC); }

absl::Status CheckPeer(int fd) {
  ucred credentials{};
  socklen_t length = sizeof(credentials);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
    return absl::InternalError(absl::StrCat("SO_PEERCRED: ", strerror(errno)));
  }
  if (credentials.uid != 0 && credentials.uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat("only root may control isergw (you are uid ", credentials.uid, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadLine(int fd, size_t limit, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string line;
  char buffer[4096];
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration())
      return absl::DeadlineExceededError("no complete message in time");
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::InternalError(absl::StrCat("read: ", strerror(errno)));
    }
    if (n == 0) return absl::DataLossError("the connection closed before the message ended");
    const char* newline = static_cast<const char*>(memchr(buffer, '\n', static_cast<size_t>(n)));
    const size_t take =
        newline != nullptr ? static_cast<size_t>(newline - buffer) : static_cast<size_t>(n);
    if (line.size() + take > limit) {
      return absl::InvalidArgumentError(absl::StrCat("message longer than ", limit, " bytes"));
    }
    line.append(buffer, take);
    if (newline != nullptr) return line;
  }
}

absl::Status WriteLine(int fd, const std::string& line) {
  std::string data = line + "\n";
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("write: ", strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void FinishConnection(int fd) {
  shutdown(fd, SHUT_WR);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  char buffer[4096];
  size_t dropped = 0;
  while (dropped < kMaxMessageBytes * 16) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) break;
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
  close(fd);
}

absl::StatusOr<nlohmann::json> CallDaemon(const std::string& socket_path,
                                          const nlohmann::json& request, absl::Duration timeout) {
  auto address = AddressOf(socket_path);
  if (!address.ok()) return address.status();
  const int fd = ConnectTo(*address);
  if (fd < 0) {
    const int saved = errno;
    if (saved == EACCES || saved == EPERM) {
      return absl::PermissionDeniedError(absl::StrCat("cannot reach the isergw daemon on ",
                                                      socket_path, ": ", strerror(saved),
                                                      " (only root may control isergw)"));
    }
    // iscsiadm's ISCSI_ERR_ISCSID_NOTCONN (20): could not reach the daemon.
    return iscsi::WithExitCode(
        absl::UnavailableError(absl::StrCat(
            "no isergw daemon is listening on ", socket_path, " (", strerror(saved),
            "): start it with `systemctl start isergw` or `isergw daemon &`, or serve this one "
            "volume from the terminal with `isergw attach --foreground URL`")),
        iscsi::ExitCodeValue(iscsi::ExitCode::kDaemonNotConnected));
  }
  absl::Status sent = WriteLine(fd, request.dump());
  shutdown(fd, SHUT_WR);  // the whole request: the daemon need not wait for more
  absl::StatusOr<std::string> line =
      sent.ok() ? ReadLine(fd, kMaxMessageBytes * 16, timeout) : absl::StatusOr<std::string>(sent);
  close(fd);
  if (!line.ok()) {
    return absl::Status(line.status().code(),
                        absl::StrCat("talking to the isergw daemon: ", line.status().message()));
  }
  return ParseReply(*line);
}

}  // namespace isergw::gateway
