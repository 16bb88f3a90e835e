#include "iser_client/config/exit_codes.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace isergw::iscsi {
namespace {

constexpr FailureKind kAllKinds[] = {
    FailureKind::kNone,
    FailureKind::kConnectionRefused,
    FailureKind::kNoRoute,
    FailureKind::kTimedOut,
    FailureKind::kLoginFailed,
    FailureKind::kAuthFailed,
    FailureKind::kAuthorizationFailed,
    FailureKind::kTargetNotFound,
    FailureKind::kLunNotFound,
    FailureKind::kInvalidArgument,
    FailureKind::kTransport,
    FailureKind::kProtocol,
    FailureKind::kIo,
};

std::optional<ExitCode> ExitCodeForKind(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone:
      return std::nullopt;
    case FailureKind::kConnectionRefused:
    case FailureKind::kNoRoute:
    case FailureKind::kTransport:
    case FailureKind::kProtocol:
      return ExitCode::kTransport;
    case FailureKind::kTimedOut:
      return ExitCode::kTransportTimeout;
    case FailureKind::kLoginFailed:
      return ExitCode::kLoginFailed;
    case FailureKind::kAuthFailed:
    case FailureKind::kAuthorizationFailed:
      return ExitCode::kLoginAuthFailed;
    case FailureKind::kTargetNotFound:
      return ExitCode::kFatalLogin;
    case FailureKind::kLunNotFound:
      return ExitCode::kNoObjectsFound;
    case FailureKind::kInvalidArgument:
      return ExitCode::kInvalidArgument;
    case FailureKind::kIo:
      return ExitCode::kGeneric;
  }
  return std::nullopt;
}

ExitCode ExitCodeForAbslCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return ExitCode::kSuccess;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return ExitCode::kInvalidArgument;
    case absl::StatusCode::kNotFound:
      return ExitCode::kNoObjectsFound;
    case absl::StatusCode::kAlreadyExists:
      return ExitCode::kSessionExists;
    case absl::StatusCode::kPermissionDenied:
      return ExitCode::kAccessDenied;
    case absl::StatusCode::kUnauthenticated:
      return ExitCode::kLoginAuthFailed;
    case absl::StatusCode::kDeadlineExceeded:
      return ExitCode::kTransportTimeout;
    case absl::StatusCode::kResourceExhausted:
      return ExitCode::kNoMemory;
    case absl::StatusCode::kUnavailable:
      return ExitCode::kTransport;
    case absl::StatusCode::kUnimplemented:
      return ExitCode::kOperationNotSupported;
    case absl::StatusCode::kInternal:
      return ExitCode::kInternal;
    case absl::StatusCode::kAborted:
      return ExitCode::kAgain;
    default:
      return ExitCode::kGeneric;
  }
}

}  // namespace

absl::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone:
      return "none";
    case FailureKind::kConnectionRefused:
      return "connection_refused";
    case FailureKind::kNoRoute:
      return "no_route";
    case FailureKind::kTimedOut:
      return "timed_out";
    case FailureKind::kLoginFailed:
      return "login_failed";
    case FailureKind::kAuthFailed:
      return "auth_failed";
    case FailureKind::kAuthorizationFailed:
      return "authorization_failed";
    case FailureKind::kTargetNotFound:
      return "target_not_found";
    case FailureKind::kLunNotFound:
      return "lun_not_found";
    case FailureKind::kInvalidArgument:
      return "invalid_argument";
    case FailureKind::kTransport:
      return "transport";
    case FailureKind::kProtocol:
      return "protocol";
    case FailureKind::kIo:
      return "io";
  }
  return "none";
}

void TagFailure(absl::Status& status, FailureKind kind) {
  if (status.ok()) {
    return;
  }
  if (kind == FailureKind::kNone) {
    status.ErasePayload(kFailurePayloadUrl);
    return;
  }
  status.SetPayload(kFailurePayloadUrl, absl::Cord(FailureKindName(kind)));
}

absl::Status WithFailure(absl::Status status, FailureKind kind) {
  TagFailure(status, kind);
  return status;
}

FailureKind GetFailureKind(const absl::Status& status) {
  const auto payload = status.GetPayload(kFailurePayloadUrl);
  if (!payload.has_value()) {
    return FailureKind::kNone;
  }
  for (FailureKind kind : kAllKinds) {
    if (*payload == FailureKindName(kind)) {
      return kind;
    }
  }
  return FailureKind::kNone;
}

namespace {
constexpr absl::string_view kExitCodePayloadUrl = "isergw/exit-code";
}  // namespace

absl::Status WithExitCode(absl::Status status, int code) {
  if (!status.ok()) status.SetPayload(kExitCodePayloadUrl, absl::Cord(absl::StrCat(code)));
  return status;
}

ExitCode ExitCodeFor(const absl::Status& status) {
  if (status.ok()) {
    return ExitCode::kSuccess;
  }
  if (auto payload = status.GetPayload(kExitCodePayloadUrl); payload.has_value()) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*payload), &code) && code > 0 && code < 256) {
      return static_cast<ExitCode>(code);
    }
  }
  if (std::optional<ExitCode> code = ExitCodeForKind(GetFailureKind(status))) {
    return *code;
  }
  return ExitCodeForAbslCode(status.code());
}

}  // namespace isergw::iscsi
