#include "iser_client/config/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "iser_client/config/secure_wipe.h"
#include "iser_client/config/small_file.h"

namespace isergw::iscsi {
namespace {

// The fields of one source before validation.
struct RawCredentials {
  std::optional<std::string> user, secret, target_user, target_secret;

  bool Any() const {
    return user.has_value() || secret.has_value() || target_user.has_value() ||
           target_secret.has_value();
  }
  void Wipe() {
    WipeString(secret);
    WipeString(target_secret);
    user.reset();
    target_user.reset();
  }
};

// Checks pairing and moves the fields into ChapCredentials. `where` names
// the source; `names` the four field names as that source spells them.
absl::StatusOr<ChapCredentials> Validate(RawCredentials& raw, absl::string_view where,
                                         const std::array<absl::string_view, 4>& names) {
  auto pair_error = [&](absl::string_view have, absl::string_view missing) {
    raw.Wipe();
    return absl::InvalidArgumentError(absl::StrCat(where, " sets ", have, " but not ", missing));
  };
  auto empty_error = [&](absl::string_view name) {
    raw.Wipe();
    return absl::InvalidArgumentError(absl::StrCat(where, " sets ", name, " to an empty value"));
  };
  if (raw.user.has_value() != raw.secret.has_value()) {
    return raw.user ? pair_error(names[0], names[1]) : pair_error(names[1], names[0]);
  }
  if (raw.target_user.has_value() != raw.target_secret.has_value()) {
    return raw.target_user ? pair_error(names[2], names[3]) : pair_error(names[3], names[2]);
  }
  if (raw.target_user.has_value() && !raw.user.has_value()) {
    raw.Wipe();
    return absl::InvalidArgumentError(absl::StrCat(
        where, " sets the target's CHAP credentials (", names[2], ", ", names[3],
        ") without the initiator's (", names[0], ", ", names[1], "); mutual CHAP needs both"));
  }
  const std::optional<std::string>* fields[] = {&raw.user, &raw.secret, &raw.target_user,
                                                &raw.target_secret};
  for (size_t i = 0; i < 4; ++i) {
    if (fields[i]->has_value() && (*fields[i])->empty()) {
      return empty_error(names[i]);
    }
  }
  ChapCredentials out;
  out.user = std::move(*raw.user);
  out.secret = std::move(*raw.secret);
  out.target_user = raw.target_user.value_or("");
  out.target_secret = raw.target_secret.value_or("");
  raw.Wipe();
  return out;
}

constexpr std::array<absl::string_view, 4> kFileNames = {"username", "password", "username_in",
                                                         "password_in"};
constexpr std::array<absl::string_view, 4> kEnvNames = {kChapUserEnv, kChapSecretEnv,
                                                        kChapTargetUserEnv, kChapTargetSecretEnv};
constexpr std::array<absl::string_view, 4> kUrlNames = {"the user", "the password", "target_user",
                                                        "target_password"};
constexpr absl::string_view kOpenIscsiPrefix = "node.session.auth.";

absl::Status CheckFileIsPrivate(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot stat credentials file ", path, ": ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::PermissionDeniedError(
        absl::StrCat("refusing credentials file ", path, ": not a regular file"));
  }
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(absl::StrCat("refusing credentials file ", path,
                                                    ": owned by uid ", st.st_uid,
                                                    ", must be owned by root or uid ", geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "refusing credentials file %s: mode %04o lets group or others access it (chmod 600 %s)",
        path, st.st_mode & 07777, path));
  }
  return absl::OkStatus();
}

absl::Status ParseCredentialsText(absl::string_view text, const std::string& path,
                                  RawCredentials& raw) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    absl::string_view key, value;
    bool has_equals = false;
    if (!SplitConfigLine(line, /*strip_comments=*/false, key, value, has_equals)) {
      continue;
    }
    const std::string where = absl::StrCat("credentials file ", path, " line ", line_number);
    if (!has_equals) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected key=value"));
    }
    if (key.substr(0, kOpenIscsiPrefix.size()) == kOpenIscsiPrefix) {
      key.remove_prefix(kOpenIscsiPrefix.size());
    }
    std::optional<std::string>* field = nullptr;
    if (key == "username") {
      field = &raw.user;
    }
    if (key == "password") {
      field = &raw.secret;
    }
    if (key == "username_in") {
      field = &raw.target_user;
    }
    if (key == "password_in") {
      field = &raw.target_secret;
    }
    if (field == nullptr) {
      // Not echoed: a mangled line may be part of a secret.
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unknown key (known: username, password, username_in, password_in)"));
    }
    if (field->has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", key, " is set twice"));
    }
    *field = std::string(value);
  }
  return absl::OkStatus();
}

std::optional<std::string> Lookup(const EnvLookup& env, absl::string_view name) {
  if (!env) {
    return std::nullopt;
  }
  return env(name);
}

}  // namespace

absl::StatusOr<std::optional<ChapCredentials>> ReadChapCredentialsFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ELOOP) {
      return absl::PermissionDeniedError(
          absl::StrCat("refusing credentials file ", path, ": it is a symbolic link"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open credentials file ", path, ": ", std::strerror(errno)));
  }
  // Checks on the open descriptor, so the file cannot be swapped between
  // the check and the read.
  absl::Status status = CheckFileIsPrivate(fd, path);
  absl::StatusOr<std::string> text =
      status.ok() ? ReadSmallFile(fd, path) : absl::StatusOr<std::string>(status);
  close(fd);
  if (!text.ok()) {
    return text.status();
  }
  RawCredentials raw;
  status = ParseCredentialsText(*text, path, raw);
  WipeString(*text);
  if (!status.ok()) {
    raw.Wipe();
    return status;
  }
  if (!raw.Any()) {
    return std::nullopt;
  }
  absl::StatusOr<ChapCredentials> chap =
      Validate(raw, absl::StrCat("credentials file ", path), kFileNames);
  if (!chap.ok()) {
    return chap.status();
  }
  return std::move(*chap);
}

absl::StatusOr<ResolvedCredentials> ResolveChapCredentials(const CredentialOptions& options) {
  ResolvedCredentials out;
  if (options.file.has_value()) {
    absl::StatusOr<std::optional<ChapCredentials>> chap = ReadChapCredentialsFile(*options.file);
    if (!chap.ok()) {
      return chap.status();
    }
    if (chap->has_value()) {
      out.chap = std::move(*chap);
      out.source = CredentialSource::kFile;
      return out;
    }
  }
  RawCredentials env;
  env.user = Lookup(options.env, kChapUserEnv);
  env.secret = Lookup(options.env, kChapSecretEnv);
  env.target_user = Lookup(options.env, kChapTargetUserEnv);
  env.target_secret = Lookup(options.env, kChapTargetSecretEnv);
  if (env.Any()) {
    absl::StatusOr<ChapCredentials> chap = Validate(env, "the environment", kEnvNames);
    if (!chap.ok()) {
      return chap.status();
    }
    out.chap = std::move(*chap);
    out.source = CredentialSource::kEnvironment;
    return out;
  }
  if (options.url != nullptr && options.url->IsIscsi()) {
    const ParsedUrl& url = *options.url;
    RawCredentials raw;
    if (!url.user.empty()) {
      raw.user = url.user;
    }
    raw.secret = url.password;
    raw.target_user = url.target_user;
    raw.target_secret = url.target_password;
    if (raw.Any()) {
      absl::StatusOr<ChapCredentials> chap = Validate(raw, "the URL", kUrlNames);
      if (!chap.ok()) {
        return chap.status();
      }
      out.chap = std::move(*chap);
      out.source = CredentialSource::kUrl;
      return out;
    }
  }
  return out;
}

void WipeChapCredentials(ChapCredentials& credentials) {
  WipeString(credentials.secret);
  WipeString(credentials.target_secret);
  credentials.user.clear();
  credentials.target_user.clear();
}

}  // namespace isergw::iscsi
