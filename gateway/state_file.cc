#include "gateway/state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/json_fields.h"

namespace isergw::gateway {
namespace {

constexpr int kStateVersion = 1;

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DaemonState> LoadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return DaemonState{};
    return Errno("cannot read", path);
  }
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json json =
      nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  const auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("the state file ", path, " is damaged: ", why,
                                            " (move it away to start without it)"));
  };
  if (json.is_discarded() || !json.is_object()) return damaged("not a JSON object");
  int version = 0;
  if (!ReadUnsigned(json, "version", version).ok() || version != kStateVersion) {
    return damaged(absl::StrCat("unknown version (this isergw reads version ", kStateVersion, ")"));
  }
  DaemonState state;
  if (absl::Status s = ReadString(json, "boot_id", state.boot_id); !s.ok())
    return damaged(s.message());
  auto volumes = json.find("volumes");
  if (volumes == json.end() || !volumes->is_array()) return damaged("no volumes array");
  for (const nlohmann::json& entry : *volumes) {
    if (!entry.is_object()) return damaged("a volume is not an object");
    auto spec = VolumeSpecFromJson(entry.contains("spec") ? entry["spec"] : nlohmann::json());
    if (!spec.ok()) return damaged(spec.status().message());
    VolumeRecord record{std::move(*spec), std::nullopt};
    if (entry.contains("device_id")) {
      uint32_t id = 0;
      if (absl::Status s = ReadUnsigned(entry, "device_id", id); !s.ok())
        return damaged(s.message());
      record.device_id = id;
    }
    state.volumes.push_back(std::move(record));
  }
  return state;
}

absl::Status SaveState(const std::string& path, const DaemonState& state) {
  nlohmann::json volumes = nlohmann::json::array();
  for (const VolumeRecord& record : state.volumes) {
    nlohmann::json entry = {{"spec", VolumeSpecToJson(record.spec)}};
    if (record.device_id.has_value()) entry["device_id"] = *record.device_id;
    volumes.push_back(std::move(entry));
  }
  const nlohmann::json json = {
      {"version", kStateVersion}, {"boot_id", state.boot_id}, {"volumes", std::move(volumes)}};
  const std::string text = json.dump(2) + "\n";

  const std::string temporary = path + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", temporary);
  absl::Status written = WriteAll(fd, text, temporary);
  if (written.ok() && fsync(fd) != 0) written = Errno("cannot sync", temporary);
  close(fd);
  if (written.ok() && rename(temporary.c_str(), path.c_str()) != 0) {
    written = Errno("cannot rename onto", path);
  }
  if (!written.ok()) {
    unlink(temporary.c_str());
    return written;
  }
  // The rename is durable once the folder is.
  const std::string folder = std::filesystem::path(path).parent_path().string();
  const int dir = open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return absl::OkStatus();
}

std::string CurrentBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return std::string(absl::StripAsciiWhitespace(id));
}

}  // namespace isergw::gateway
