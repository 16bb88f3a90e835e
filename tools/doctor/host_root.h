// The host's files as the checks see them: real paths on a real host, or
// the same paths under a temporary directory in tests (a fake /sys, /proc,
// /dev and /lib/modules), so every decision can be tested without the
// hardware it is about.
#ifndef TOOLS_DOCTOR_HOST_ROOT_H_
#define TOOLS_DOCTOR_HOST_ROOT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace isergw::doctor {

class HostRoot {
 public:
  // `prefix` is prepended to every absolute path; "" is the real host.
  explicit HostRoot(std::string prefix = "") : prefix_(std::move(prefix)) {}

  std::string Path(absl::string_view absolute) const;

  // The file's content without surrounding whitespace; nullopt when it
  // cannot be read (missing, or a sysfs attribute that returns an error,
  // as an unused GID table entry's type does).
  std::optional<std::string> Read(absl::string_view absolute) const;

  // Like Read, but the whole file (modules.dep can be large).
  std::optional<std::string> ReadAll(absl::string_view absolute) const;

  bool Exists(absl::string_view absolute) const;

  // Entry names of a directory, sorted, without "." and ".."; empty when it
  // does not exist. Symbolic links (as in /sys/class) count as entries.
  std::vector<std::string> List(absl::string_view absolute_dir) const;

 private:
  std::string prefix_;
};

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_HOST_ROOT_H_
