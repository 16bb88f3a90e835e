#include "tools/doctor/host_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace isergw::doctor {

std::string HostRoot::Path(absl::string_view absolute) const {
  return absl::StrCat(prefix_, absolute);
}

std::optional<std::string> HostRoot::ReadAll(absl::string_view absolute) const {
  const int fd = open(Path(absolute).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return text;
}

std::optional<std::string> HostRoot::Read(absl::string_view absolute) const {
  std::optional<std::string> text = ReadAll(absolute);
  if (!text) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(*text));
}

bool HostRoot::Exists(absl::string_view absolute) const {
  struct stat st;
  return stat(Path(absolute).c_str(), &st) == 0;
}

std::vector<std::string> HostRoot::List(absl::string_view absolute_dir) const {
  std::vector<std::string> names;
  DIR* dir = opendir(Path(absolute_dir).c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    const absl::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace isergw::doctor
