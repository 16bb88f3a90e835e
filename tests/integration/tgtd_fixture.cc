#include "tests/integration/tgtd_fixture.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/str_cat.h"

namespace isergw::testing {

uint16_t FreeTcpPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

Tgtd::~Tgtd() { Kill(); }

absl::Status Tgtd::Start(uint16_t port) {
  port_ = port != 0 ? port : FreeTcpPort();
  // The management channel is a Unix socket named by this number; the
  // process id keeps parallel test binaries apart, the counter keeps apart
  // the daemons one process starts one after another.
  static int started = 0;
  // Skip management channels another daemon answers on (one left behind by
  // a killed test run would otherwise take our tgtadm commands).
  for (int attempt = 0; attempt < 50; ++attempt) {
    control_port_ = 1000 + (getpid() % 3000) * 10 + (started++ % 10) + attempt * 30000;
    if (!Admin("--mode target --op show").ok()) break;
  }
  std::string portal = absl::StrCat("portal=127.0.0.1:", port_);
  std::string control = std::to_string(control_port_);
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execlp("tgtd", "tgtd", "-f", "-C", control.c_str(), "--iscsi", portal.c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 100; ++i) {
    if (Admin("--mode target --op show").ok()) return absl::OkStatus();
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::UnavailableError("tgtd exited at start (is the tgt package installed?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("tgtd did not answer tgtadm within 5 s");
}

void Tgtd::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  // tgtd leaves its management socket behind when killed.
  unlink(absl::StrCat("/var/run/tgtd/socket.", control_port_).c_str());
  unlink(absl::StrCat("/var/run/tgtd/socket.", control_port_, ".lock").c_str());
}

absl::Status Tgtd::Admin(const std::string& args) {
  std::string cmd = absl::StrCat("tgtadm -C ", control_port_, " --lld iscsi ", args, " 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError("popen failed");
  std::string output;
  char chunk[512];
  size_t got;
  while ((got = fread(chunk, 1, sizeof(chunk), pipe)) > 0) output.append(chunk, got);
  int rc = pclose(pipe);
  last_output_ = output;
  if (rc != 0) return absl::InternalError(absl::StrCat("tgtadm failed: ", args, ": ", output));
  return absl::OkStatus();
}

absl::Status Tgtd::AddTarget(int tid, const std::string& iqn) {
  return Admin(absl::StrCat("--mode target --op new --tid ", tid, " --targetname ", iqn));
}

absl::Status Tgtd::AddFileLun(int tid, int lun, const std::string& path,
                              const std::string& extra_params) {
  absl::Status st = Admin(absl::StrCat("--mode logicalunit --op new --tid ", tid, " --lun ", lun,
                                       " --backing-store ", path));
  if (!st.ok() || extra_params.empty()) return st;
  return Admin(absl::StrCat("--mode logicalunit --op update --tid ", tid, " --lun ", lun,
                            " --params ", extra_params));
}

absl::Status Tgtd::AddNullLun(int tid, int lun, uint64_t size_mib) {
  return Admin(absl::StrCat("--mode logicalunit --op new --tid ", tid, " --lun ", lun,
                            " --bstype null --backing-store null:", size_mib << 20));
}

absl::Status Tgtd::SetTargetParam(int tid, const std::string& name, const std::string& value) {
  return Admin(
      absl::StrCat("--mode target --op update --tid ", tid, " --name ", name, " --value ", value));
}

absl::Status Tgtd::AllowAll(int tid) {
  return Admin(absl::StrCat("--mode target --op bind --tid ", tid, " --initiator-address ALL"));
}

absl::Status Tgtd::AddAccount(const std::string& user, const std::string& password) {
  return Admin(absl::StrCat("--mode account --op new --user ", user, " --password ", password));
}

absl::Status Tgtd::BindAccount(int tid, const std::string& user, bool outgoing) {
  return Admin(absl::StrCat("--mode account --op bind --tid ", tid, " --user ", user,
                            outgoing ? " --outgoing" : ""));
}

std::string Tgtd::Url(const std::string& iqn, int lun) const {
  return absl::StrCat("iscsi://127.0.0.1:", port_, "/", iqn, "/", lun);
}

std::string MakeBackingFile(const std::string& name, uint64_t bytes) {
  char dir[] = "/tmp/isergw-test-XXXXXX";
  if (mkdtemp(dir) == nullptr) abort();
  std::string path = absl::StrCat(dir, "/", name);
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0) abort();
  close(fd);
  return path;
}

void RemoveBackingFile(const std::string& path) {
  unlink(path.c_str());
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) rmdir(path.substr(0, slash).c_str());
}

std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t offset, size_t length) {
  std::vector<uint8_t> data(length);
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) abort();
  ssize_t got = pread(fd, data.data(), length, static_cast<off_t>(offset));
  close(fd);
  data.resize(got < 0 ? 0 : static_cast<size_t>(got));
  return data;
}

}  // namespace isergw::testing
