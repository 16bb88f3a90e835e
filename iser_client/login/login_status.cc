#include "iser_client/login/login_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace isergw::iscsi {
namespace {

constexpr absl::string_view kPayloadUrl = "type.isergw/iscsi.LoginFailure";

absl::StatusCode CodeFor(LoginFailure f) {
  switch (f) {
    case LoginFailure::kNone:
      return absl::StatusCode::kOk;
    case LoginFailure::kRedirectTemporary:
    case LoginFailure::kRedirectPermanent:
    case LoginFailure::kServiceUnavailable:
      return absl::StatusCode::kUnavailable;
    case LoginFailure::kAuthenticationFailed:
    case LoginFailure::kChapNotConfigured:
    case LoginFailure::kMutualAuthFailed:
      return absl::StatusCode::kUnauthenticated;
    case LoginFailure::kAuthorizationFailed:
      return absl::StatusCode::kPermissionDenied;
    case LoginFailure::kTargetNotFound:
    case LoginFailure::kTargetRemoved:
    case LoginFailure::kSessionDoesNotExist:
      return absl::StatusCode::kNotFound;
    case LoginFailure::kUnsupportedVersion:
    case LoginFailure::kSessionTypeNotSupported:
      return absl::StatusCode::kUnimplemented;
    case LoginFailure::kTooManyConnections:
    case LoginFailure::kOutOfResources:
      return absl::StatusCode::kResourceExhausted;
    case LoginFailure::kMissingParameter:
    case LoginFailure::kCannotIncludeInSession:
    case LoginFailure::kInvalidRequestDuringLogin:
    case LoginFailure::kInitiatorError:
    case LoginFailure::kBadConfig:
      return absl::StatusCode::kInvalidArgument;
    case LoginFailure::kNegotiationFailed:
      return absl::StatusCode::kFailedPrecondition;
    case LoginFailure::kTargetError:
      return absl::StatusCode::kInternal;
    case LoginFailure::kProtocolError:
      return absl::StatusCode::kDataLoss;
  }
  return absl::StatusCode::kUnknown;
}

}  // namespace

absl::string_view LoginFailureName(LoginFailure f) {
  switch (f) {
    case LoginFailure::kNone:
      return "none";
    case LoginFailure::kRedirectTemporary:
      return "target moved temporarily";
    case LoginFailure::kRedirectPermanent:
      return "target moved permanently";
    case LoginFailure::kAuthenticationFailed:
      return "authentication failed";
    case LoginFailure::kAuthorizationFailed:
      return "authorization failed";
    case LoginFailure::kTargetNotFound:
      return "target not found";
    case LoginFailure::kTargetRemoved:
      return "target removed";
    case LoginFailure::kUnsupportedVersion:
      return "unsupported version";
    case LoginFailure::kTooManyConnections:
      return "too many connections";
    case LoginFailure::kMissingParameter:
      return "missing parameter";
    case LoginFailure::kCannotIncludeInSession:
      return "cannot include in session";
    case LoginFailure::kSessionTypeNotSupported:
      return "session type not supported";
    case LoginFailure::kSessionDoesNotExist:
      return "session does not exist";
    case LoginFailure::kInvalidRequestDuringLogin:
      return "invalid request during login";
    case LoginFailure::kInitiatorError:
      return "initiator error";
    case LoginFailure::kTargetError:
      return "target error";
    case LoginFailure::kServiceUnavailable:
      return "service unavailable";
    case LoginFailure::kOutOfResources:
      return "out of resources";
    case LoginFailure::kChapNotConfigured:
      return "CHAP required but not configured";
    case LoginFailure::kMutualAuthFailed:
      return "mutual CHAP failed";
    case LoginFailure::kNegotiationFailed:
      return "negotiation failed";
    case LoginFailure::kProtocolError:
      return "protocol error";
    case LoginFailure::kBadConfig:
      return "bad login configuration";
  }
  return "unknown";
}

LoginFailure LoginFailureFromStatus(uint8_t status_class, uint8_t status_detail) {
  switch (status_class) {
    case 0x00:
      return LoginFailure::kNone;
    case 0x01:
      return status_detail == 0x02 ? LoginFailure::kRedirectPermanent
                                   : LoginFailure::kRedirectTemporary;
    case 0x02:
      switch (status_detail) {
        case 0x00:
        case 0x01:
          return LoginFailure::kAuthenticationFailed;  // 0x0200 "miscellaneous" too
        case 0x02:
          return LoginFailure::kAuthorizationFailed;
        case 0x03:
          return LoginFailure::kTargetNotFound;
        case 0x04:
          return LoginFailure::kTargetRemoved;
        case 0x05:
          return LoginFailure::kUnsupportedVersion;
        case 0x06:
          return LoginFailure::kTooManyConnections;
        case 0x07:
          return LoginFailure::kMissingParameter;
        case 0x08:
          return LoginFailure::kCannotIncludeInSession;
        case 0x09:
          return LoginFailure::kSessionTypeNotSupported;
        case 0x0a:
          return LoginFailure::kSessionDoesNotExist;
        case 0x0b:
          return LoginFailure::kInvalidRequestDuringLogin;
        default:
          return LoginFailure::kInitiatorError;
      }
    case 0x03:
      switch (status_detail) {
        case 0x01:
          return LoginFailure::kServiceUnavailable;
        case 0x02:
          return LoginFailure::kOutOfResources;
        default:
          return LoginFailure::kTargetError;
      }
    default:
      return LoginFailure::kProtocolError;
  }
}

absl::Status MakeLoginError(LoginFailure failure, absl::string_view message) {
  absl::Status status(CodeFor(failure), message);
  if (!status.ok()) {
    status.SetPayload(kPayloadUrl, absl::Cord(std::to_string(static_cast<int>(failure))));
  }
  return status;
}

LoginFailure GetLoginFailure(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (!payload) return LoginFailure::kNone;
  int v = 0;
  const std::string s(*payload);
  for (char c : s) v = v * 10 + (c - '0');
  if (v < 0 || v > static_cast<int>(LoginFailure::kBadConfig)) return LoginFailure::kNone;
  return static_cast<LoginFailure>(v);
}

}  // namespace isergw::iscsi
