#ifndef TESTS_INTEGRATION_TGTD_FIXTURE_H_
#define TESTS_INTEGRATION_TGTD_FIXTURE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace isergw::testing {

// A private tgtd (the Linux SCSI target framework daemon) on 127.0.0.1, on a
// port and management channel of its own, so tests never meet a system
// target or each other. Configured with tgtadm, as an administrator would.
class Tgtd {
 public:
  Tgtd() = default;
  ~Tgtd();
  Tgtd(const Tgtd&) = delete;
  Tgtd& operator=(const Tgtd&) = delete;

  // Starts the daemon and waits until its management channel answers; on
  // `port` (0: a free one), so a restarted target can take its old portal.
  absl::Status Start(uint16_t port = 0);
  // Kills the daemon at once (SIGKILL): the target vanishes mid-I/O.
  void Kill();

  absl::Status AddTarget(int tid, const std::string& iqn);
  // A LUN backed by `path` (a file the test created).
  absl::Status AddFileLun(int tid, int lun, const std::string& path,
                          const std::string& extra_params = "");
  absl::Status AddNullLun(int tid, int lun, uint64_t size_mib);
  absl::Status AllowAll(int tid);
  absl::Status AddAccount(const std::string& user, const std::string& password);
  // `outgoing`: the account the target proves itself with (mutual CHAP).
  absl::Status BindAccount(int tid, const std::string& user, bool outgoing);
  // A target's iSCSI parameter (HeaderDigest, InitialR2T, MaxBurstLength...),
  // what it accepts or proposes in logins that follow.
  absl::Status SetTargetParam(int tid, const std::string& name, const std::string& value);
  absl::Status Admin(const std::string& args);
  // What the last Admin() call printed (for `--op show`).
  const std::string& last_output() const { return last_output_; }

  uint16_t port() const { return port_; }
  int control_port() const { return control_port_; }
  pid_t pid() const { return pid_; }
  std::string Url(const std::string& iqn, int lun) const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int control_port_ = 0;
  std::string last_output_;
};

// A file of `bytes` zero bytes in a fresh temporary directory.
std::string MakeBackingFile(const std::string& name, uint64_t bytes);
// Removes a file MakeBackingFile made, and its directory.
void RemoveBackingFile(const std::string& path);
std::vector<uint8_t> ReadFileBytes(const std::string& path, uint64_t offset, size_t length);
// A free TCP port on 127.0.0.1 (bound, then released).
uint16_t FreeTcpPort();

}  // namespace isergw::testing

#endif  // TESTS_INTEGRATION_TGTD_FIXTURE_H_
