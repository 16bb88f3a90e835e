// CHAP credentials (RFC 7143 section 12.1.3) and where they come from.
//
// Secrets on the command line are visible to every local user through
// /proc/PID/cmdline, so isergw takes them, first match wins, from:
//
//   1. a credentials file (--chap-file PATH), "key=value" lines with
//      open-iscsi's node.session.auth names, with or without that prefix:
//        username=      password=        the initiator's CHAP name/secret
//        username_in=   password_in=     the target's, for mutual CHAP
//      Lines starting with '#' are comments; values are taken verbatim after
//      trimming surrounding whitespace (so a secret may contain '#' or '=').
//      The file must be a regular file owned by root or by the current user
//      and not readable or writable by group or others (mode & 077 == 0).
//   2. the environment: ISERGW_CHAP_USER, ISERGW_CHAP_SECRET,
//      ISERGW_CHAP_TARGET_USER, ISERGW_CHAP_TARGET_SECRET.
//   3. the URL's user%password@ (and ?target_user=&target_password=), as
//      libiscsi accepts them; the CLI warns when this source is used.
//
// One source supplies the whole set: sources are not mixed field by field,
// so what is used is always what one place says. A source "is used" when it
// sets any field. Within it the initiator user and secret must come
// together, the target pair too, and a target pair needs an initiator pair.
// No error message contains a secret.
#ifndef ISER_CLIENT_CONFIG_CREDENTIALS_H_
#define ISER_CLIENT_CONFIG_CREDENTIALS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/config/environment.h"
#include "iser_client/config/url.h"
#include "iser_client/login/chap.h"

namespace isergw::iscsi {

inline constexpr absl::string_view kChapUserEnv = "ISERGW_CHAP_USER";
inline constexpr absl::string_view kChapSecretEnv = "ISERGW_CHAP_SECRET";
inline constexpr absl::string_view kChapTargetUserEnv = "ISERGW_CHAP_TARGET_USER";
inline constexpr absl::string_view kChapTargetSecretEnv = "ISERGW_CHAP_TARGET_SECRET";

// ChapCredentials (user, secret, and for mutual CHAP target_user and
// target_secret, empty when unused) is the login layer's, from chap.h.

enum class CredentialSource { kNone, kFile, kEnvironment, kUrl };

struct ResolvedCredentials {
  std::optional<ChapCredentials> chap;  // nullopt: no CHAP
  CredentialSource source = CredentialSource::kNone;
};

struct CredentialOptions {
  std::optional<std::string> file;  // --chap-file
  const ParsedUrl* url = nullptr;   // may be null
  EnvLookup env = ProcessEnvironment();
};

// Picks the credentials as described above.
absl::StatusOr<ResolvedCredentials> ResolveChapCredentials(const CredentialOptions& options);

// Reads a credentials file (after the ownership and mode checks). Returns
// nullopt when the file sets nothing. Errors name the file and, for syntax
// errors, the line number, never the line.
absl::StatusOr<std::optional<ChapCredentials>> ReadChapCredentialsFile(const std::string& path);

// Overwrites the secrets in memory and clears all fields.
void WipeChapCredentials(ChapCredentials& credentials);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_CREDENTIALS_H_
