#include "iser_client/config/initiator_name.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "iser_client/config/iscsi_name.h"
#include "iser_client/config/small_file.h"

namespace isergw::iscsi {
namespace {

constexpr absl::string_view kKey = "InitiatorName";

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

std::string Errno(absl::string_view what, absl::string_view path) {
  return absl::StrCat(what, " ", path, ": ", std::strerror(errno));
}

absl::string_view ParentDir(absl::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) {
    return ".";
  }
  if (slash == 0) {
    return "/";
  }
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return absl::FailedPreconditionError(Errno("cannot write", path));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Moves `tmp` to `path` unless `path` exists. Returns false (and removes
// `tmp`) when another process created `path` first.
absl::StatusOr<bool> InstallIfAbsent(const std::string& tmp, const std::string& path) {
  int rc = renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
    // File systems without RENAME_NOREPLACE: link() also fails on EEXIST.
    rc = link(tmp.c_str(), path.c_str());
    if (rc == 0 || errno == EEXIST) {
      const int saved = errno;
      unlink(tmp.c_str());
      errno = saved;
    }
  }
  if (rc == 0) {
    return true;
  }
  const int saved = errno;
  unlink(tmp.c_str());
  if (saved == EEXIST) {
    return false;
  }
  errno = saved;
  return absl::FailedPreconditionError(Errno("cannot create", path));
}

absl::Status SyncDir(absl::string_view dir) {
  const int fd = open(std::string(dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(Errno("cannot open directory", dir));
  }
  FdCloser closer(fd);
  if (fsync(fd) != 0) {
    return absl::FailedPreconditionError(Errno("cannot sync directory", dir));
  }
  return absl::OkStatus();
}

// Writes "InitiatorName=<name>" to `path` unless it exists. Returns the
// name now in the file (ours, or the one a concurrent run wrote first).
absl::StatusOr<std::string> SaveGeneratedName(const std::string& path, const std::string& name) {
  const std::string dir(ParentDir(path));
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(Errno("cannot create directory", dir));
  }
  std::string tmp = path + ".XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) {
    return absl::FailedPreconditionError(Errno("cannot create a temporary file in", dir));
  }
  absl::Status status = absl::OkStatus();
  {
    FdCloser closer(fd);
    const std::string content = absl::StrCat(
        "# The iSCSI initiator name of this host, generated once by isergw.\n"
        "# Targets grant access by this name: keep it stable.\n",
        kKey, "=", name, "\n");
    if (fchmod(fd, 0644) != 0) {
      status = absl::FailedPreconditionError(Errno("cannot chmod", tmp));
    }
    if (status.ok()) {
      status = WriteAll(fd, content, tmp);
    }
    if (status.ok() && fsync(fd) != 0) {
      status = absl::FailedPreconditionError(Errno("cannot sync", tmp));
    }
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  absl::StatusOr<bool> installed = InstallIfAbsent(tmp, path);
  if (!installed.ok()) {
    return installed.status();
  }
  if (!*installed) {
    // Another run won the race; use its name so both agree.
    absl::StatusOr<std::optional<std::string>> existing = ReadInitiatorNameFile(path);
    if (!existing.ok()) {
      return existing.status();
    }
    if (!existing->has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " appeared without an InitiatorName= line"));
    }
    return **existing;
  }
  if (absl::Status s = SyncDir(dir); !s.ok()) {
    return s;
  }
  return name;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ReadInitiatorNameFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::nullopt;
    }
    return absl::FailedPreconditionError(Errno("cannot open", path));
  }
  FdCloser closer(fd);
  absl::StatusOr<std::string> content = ReadSmallFile(fd, path);
  if (!content.ok()) {
    return content.status();
  }
  for (absl::string_view line : absl::StrSplit(*content, '\n')) {
    absl::string_view key, value;
    bool has_equals = false;
    if (!SplitConfigLine(line, /*strip_comments=*/true, key, value, has_equals)) {
      continue;
    }
    if (key != kKey || !has_equals) {
      continue;
    }
    if (absl::Status s = ValidateIscsiName(value, "initiator name"); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
    }
    return std::string(value);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> GenerateInitiatorName(const RandomSource& random) {
  std::array<uint8_t, 6> bytes{};
  if (absl::Status s = random(absl::MakeSpan(bytes)); !s.ok()) {
    return s;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name(kGeneratedNamePrefix);
  for (uint8_t b : bytes) {
    name.push_back(kHex[b >> 4]);
    name.push_back(kHex[b & 15]);
  }
  return name;
}

absl::StatusOr<InitiatorName> LoadOrCreateInitiatorName(const InitiatorNameOptions& options) {
  using Source = InitiatorName::Source;
  if (options.env) {
    if (std::optional<std::string> value = options.env(kInitiatorNameEnv)) {
      if (absl::Status s = ValidateIscsiName(*value, "initiator name"); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(kInitiatorNameEnv, ": ", s.message()));
      }
      return InitiatorName{*value, Source::kEnvironment, std::string(kInitiatorNameEnv)};
    }
  }
  for (const auto& [path, source] : {std::pair{&options.open_iscsi_file, Source::kOpenIscsiFile},
                                     std::pair{&options.isergw_file, Source::kIsergwFile}}) {
    if (path->empty()) {
      continue;
    }
    absl::StatusOr<std::optional<std::string>> name = ReadInitiatorNameFile(*path);
    if (!name.ok()) {
      return name.status();
    }
    if (name->has_value()) {
      return InitiatorName{**name, source, *path};
    }
    if (source == Source::kIsergwFile && access(path->c_str(), F_OK) == 0) {
      // Never overwrite a file someone wrote by hand.
      return absl::FailedPreconditionError(absl::StrCat(
          *path, " has no InitiatorName= line; fix it or delete it to generate a new name"));
    }
  }
  if (options.isergw_file.empty()) {
    return absl::FailedPreconditionError("no initiator name configured and nowhere to save one");
  }
  absl::StatusOr<std::string> generated = GenerateInitiatorName(options.random);
  if (!generated.ok()) {
    return generated.status();
  }
  absl::StatusOr<std::string> saved = SaveGeneratedName(options.isergw_file, *generated);
  if (!saved.ok()) {
    return saved.status();
  }
  return InitiatorName{*saved, Source::kGenerated, options.isergw_file};
}

}  // namespace isergw::iscsi
