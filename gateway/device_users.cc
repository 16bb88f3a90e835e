#include "gateway/device_users.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace isergw::gateway {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status Busy(const std::string& device, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat(device, " is in use: ", why, "; stop using it first, or detach with --force"));
}

}  // namespace

std::string MountPointIn(absl::string_view mountinfo, absl::string_view major_minor) {
  // "36 35 98:0 / /mnt rw,... - ext4 /dev/ublkb0 rw": field 3 is the device.
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() >= 5 && fields[2] == major_minor) return std::string(fields[4]);
  }
  return "";
}

absl::Status CheckDeviceUnused(const std::string& device, absl::string_view proc,
                               absl::string_view sys) {
  struct stat st;
  if (stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return absl::OkStatus();
  const std::string major_minor = absl::StrCat(major(st.st_rdev), ":", minor(st.st_rdev));
  const std::string base = std::filesystem::path(device).filename().string();

  std::error_code error;
  for (const auto& holder :
       std::filesystem::directory_iterator(absl::StrCat(sys, "/block/", base, "/holders"), error)) {
    return Busy(device, absl::StrCat("held by ", holder.path().filename().string()));
  }
  const std::string mount =
      MountPointIn(ReadText(absl::StrCat(proc, "/self/mountinfo")), major_minor);
  if (!mount.empty()) return Busy(device, absl::StrCat("mounted on ", mount));

  for (const auto& process : std::filesystem::directory_iterator(std::string(proc), error)) {
    const std::string pid = process.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code fd_error;
    for (const auto& fd : std::filesystem::directory_iterator(process.path() / "fd", fd_error)) {
      std::error_code link_error;
      const auto target = std::filesystem::read_symlink(fd.path(), link_error);
      if (link_error || target != device) continue;
      std::string comm = ReadText(absl::StrCat(process.path().string(), "/comm"));
      absl::StripTrailingAsciiWhitespace(&comm);
      return Busy(device, absl::StrCat("open in process ", pid, " (", comm, ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace isergw::gateway
