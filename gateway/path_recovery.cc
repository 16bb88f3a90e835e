#include "gateway/path_recovery.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"

namespace isergw::gateway {

absl::string_view PathStateName(PathState state) {
  switch (state) {
    case PathState::kLive:
      return "live";
    case PathState::kBackoff:
      return "reconnecting";
    case PathState::kLoggingIn:
      return "logging-in";
    case PathState::kVerifying:
      return "verifying";
    case PathState::kStopped:
      return "stopped";
  }
  return "unknown";
}

absl::Duration ReconnectDelay(int attempt) {
  if (attempt <= 0) return absl::ZeroDuration();
  const absl::Duration delay = absl::Milliseconds(500) * (int64_t{1} << std::min(attempt - 1, 4));
  return std::min(delay, absl::Seconds(5));
}

size_t FirstPortalIndex(uint16_t queue_id, size_t portals, bool spread) {
  if (portals == 0 || !spread) return 0;
  return queue_id % portals;
}

bool IsPortalFailure(const absl::Status& status) {
  switch (iscsi::GetFailureKind(status)) {
    case iscsi::FailureKind::kConnectionRefused:
    case iscsi::FailureKind::kNoRoute:
    case iscsi::FailureKind::kTimedOut:
    case iscsi::FailureKind::kTransport:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<std::vector<iscsi::Endpoint>> ParsePortalList(absl::string_view text) {
  std::vector<iscsi::Endpoint> out;
  if (absl::StripAsciiWhitespace(text).empty()) return out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) {
      return iscsi::WithFailure(
          absl::InvalidArgumentError(absl::StrCat("empty portal in the list '", text, "'")),
          iscsi::FailureKind::kInvalidArgument);
    }
    std::string iface;
    if (const size_t at = part.rfind('@'); at != absl::string_view::npos) {
      iface = std::string(part.substr(at + 1));
      part = part.substr(0, at);
      if (absl::Status s = ValidateInterfaceName(iface); !s.ok()) return s;
    }
    auto portal = iscsi::ParsePortal(part);
    if (!portal.ok()) return portal.status();
    out.push_back(iscsi::Endpoint{portal->host, portal->port, iface});
  }
  return out;
}

std::string FormatPortalList(const std::vector<iscsi::Endpoint>& portals) {
  return absl::StrJoin(portals, ",", [](std::string* out, const iscsi::Endpoint& e) {
    absl::StrAppend(out, FormatPath(e));
  });
}

std::string FormatPath(const iscsi::Endpoint& portal) {
  std::string out = iscsi::FormatPortal(portal.host, portal.port);
  if (!portal.iface.empty()) absl::StrAppend(&out, "@", portal.iface);
  return out;
}

absl::Status ValidateInterfaceName(absl::string_view name) {
  // IFNAMSIZ is 16 with the terminating NUL.
  if (name.empty() || name.size() > 15 ||
      name.find_first_of("/: \t\n") != absl::string_view::npos) {
    return iscsi::WithFailure(
        absl::InvalidArgumentError(absl::StrCat("'", name,
                                                "' is not a network interface name (1 to 15 "
                                                "characters, no '/', ':' or spaces)")),
        iscsi::FailureKind::kInvalidArgument);
  }
  return absl::OkStatus();
}

absl::Status CheckSameLun(const LunIdentity& expected, const LunIdentity& found,
                          absl::string_view portal) {
  auto mismatch = [&](absl::string_view what, const std::string& want, const std::string& got) {
    return iscsi::WithFailure(
        absl::FailedPreconditionError(
            absl::StrCat("a different LUN answers at ", portal, ": its ", what, " is '", got,
                         "', the volume's is '", want,
                         "'; the volume is stopped so that nothing is written to the wrong LUN")),
        iscsi::FailureKind::kLunNotFound);
  };
  if (!expected.wwn.empty() && found.wwn != expected.wwn) {
    return mismatch("WWN", expected.wwn, found.wwn);
  }
  if (!expected.serial.empty() && found.serial != expected.serial) {
    return mismatch("serial", expected.serial, found.serial);
  }
  return absl::OkStatus();
}

}  // namespace isergw::gateway
