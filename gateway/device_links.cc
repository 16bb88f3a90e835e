#include "gateway/device_links.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace isergw::gateway {
namespace {

// Relative path from `link`'s folder up to `root`, then the device.
std::string TargetFrom(const std::string& root, const std::string& link, uint32_t device_id) {
  std::filesystem::path folder = std::filesystem::path(link).parent_path();
  std::filesystem::path device = std::filesystem::path(root) / absl::StrCat("ublkb", device_id);
  return device.lexically_relative(folder).string();
}

}  // namespace

std::vector<DeviceLink> DeviceLinksFor(const std::string& root, const std::string& name,
                                       const iscsi::ParsedUrl& url, const std::string& wwn,
                                       uint32_t device_id) {
  std::vector<std::string> paths;
  if (url.IsIscsi()) {
    paths.push_back(absl::StrCat(root, "/disk/by-path/ip-", url.host, ":", url.port, "-iscsi-",
                                 url.target_iqn, "-lun-", url.lun));
  }
  // udev's by-id/wwn-0x... for NAA (and EUI-64) designators.
  for (absl::string_view prefix : {"naa.", "eui."}) {
    if (absl::StartsWith(wwn, prefix)) {
      paths.push_back(absl::StrCat(root, "/disk/by-id/wwn-0x", wwn.substr(prefix.size())));
    }
  }
  paths.push_back(absl::StrCat(root, "/isergw/", name));
  std::vector<DeviceLink> links;
  for (std::string& path : paths) {
    std::string target = TargetFrom(root, path, device_id);
    links.push_back({std::move(path), std::move(target)});
  }
  return links;
}

absl::Status CreateDeviceLinks(const std::vector<DeviceLink>& links) {
  for (const DeviceLink& link : links) {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(link.path).parent_path(), error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create the folder of ", link.path, ": ", error.message()));
    }
    // Made beside it and renamed over it: the name never points nowhere.
    const std::string temporary = absl::StrCat(link.path, ".isergw-new");
    unlink(temporary.c_str());
    if (symlink(link.target.c_str(), temporary.c_str()) != 0 ||
        rename(temporary.c_str(), link.path.c_str()) != 0) {
      const int saved = errno;
      unlink(temporary.c_str());
      return absl::InternalError(
          absl::StrCat("cannot link ", link.path, " to ", link.target, ": ", strerror(saved)));
    }
  }
  return absl::OkStatus();
}

void RemoveDeviceLinks(const std::vector<DeviceLink>& links) {
  for (const DeviceLink& link : links) {
    char target[4096];
    const ssize_t n = readlink(link.path.c_str(), target, sizeof(target) - 1);
    if (n < 0) continue;
    target[n] = '\0';
    // Another volume may own the name by now (re-attached elsewhere).
    if (link.target == target) unlink(link.path.c_str());
  }
}

}  // namespace isergw::gateway
