// The initiator's iSCSI name (InitiatorName, RFC 7143 section 13.6).
//
// Targets grant access by initiator name, so the name must be stable across
// runs and, on hosts that also run open-iscsi, the same one open-iscsi uses.
// Where the name comes from, first match wins:
//
//   1. $ISERGW_INITIATOR_NAME, when set (an explicit override; it must be a
//      valid name, an invalid one is an error, not skipped).
//   2. open-iscsi's /etc/iscsi/initiatorname.iscsi, when it exists and has an
//      InitiatorName= line (a file with only "GenerateName=yes" is skipped).
//   3. isergw's own /etc/isergw/initiatorname (same "InitiatorName=" format).
//   4. A new name "iqn.2026-11.org.isergw:<12 hex digits>", generated once
//      from the random source and saved to (3) atomically, so every later
//      run (and every concurrent one) gets the same name.
//
// In the files '#' starts a comment and whitespace around key and value is
// ignored. A name that is present but malformed is an error naming the file;
// it is never silently replaced.
#ifndef ISER_CLIENT_CONFIG_INITIATOR_NAME_H_
#define ISER_CLIENT_CONFIG_INITIATOR_NAME_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/config/environment.h"

namespace isergw::iscsi {

inline constexpr absl::string_view kInitiatorNameEnv = "ISERGW_INITIATOR_NAME";
inline constexpr absl::string_view kOpenIscsiInitiatorNameFile = "/etc/iscsi/initiatorname.iscsi";
inline constexpr absl::string_view kIsergwInitiatorNameFile = "/etc/isergw/initiatorname";
inline constexpr absl::string_view kGeneratedNamePrefix = "iqn.2026-11.org.isergw:";

struct InitiatorNameOptions {
  std::string open_iscsi_file{kOpenIscsiInitiatorNameFile};
  std::string isergw_file{kIsergwInitiatorNameFile};
  EnvLookup env = ProcessEnvironment();
  RandomSource random = SystemRandom;
};

struct InitiatorName {
  enum class Source { kEnvironment, kOpenIscsiFile, kIsergwFile, kGenerated };
  std::string name;
  Source source = Source::kGenerated;
  // Where it came from: the variable's name or the file's path (for the
  // generated case, the file it was saved to). For `isergw` to print.
  std::string origin;
};

// Resolves the initiator name as described above; may create isergw_file
// (and its parent directory, one level, mode 0755).
absl::StatusOr<InitiatorName> LoadOrCreateInitiatorName(const InitiatorNameOptions& options = {});

// Reads the InitiatorName= value from an initiatorname file. nullopt when
// the file does not exist or has no InitiatorName= line; an error when it
// cannot be read or the name is malformed. The first InitiatorName= wins.
absl::StatusOr<std::optional<std::string>> ReadInitiatorNameFile(const std::string& path);

// kGeneratedNamePrefix + 12 lower-case hex digits from `random`.
absl::StatusOr<std::string> GenerateInitiatorName(const RandomSource& random);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_INITIATOR_NAME_H_
