// Why a login failed: one stable enum per cause, carried inside absl::Status.
#ifndef ISER_CLIENT_LOGIN_LOGIN_STATUS_H_
#define ISER_CLIENT_LOGIN_LOGIN_STATUS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace isergw::iscsi {

enum class LoginFailure : uint8_t {
  kNone = 0,
  // Login Response status class 1 (redirection): reconnect elsewhere.
  kRedirectTemporary,  // 0x0101
  kRedirectPermanent,  // 0x0102
  // Status class 2 (initiator error).
  kAuthenticationFailed,       // 0x0201
  kAuthorizationFailed,        // 0x0202
  kTargetNotFound,             // 0x0203
  kTargetRemoved,              // 0x0204
  kUnsupportedVersion,         // 0x0205
  kTooManyConnections,         // 0x0206
  kMissingParameter,           // 0x0207
  kCannotIncludeInSession,     // 0x0208
  kSessionTypeNotSupported,    // 0x0209
  kSessionDoesNotExist,        // 0x020a
  kInvalidRequestDuringLogin,  // 0x020b
  kInitiatorError,             // other 0x02xx
  // Status class 3 (target error).
  kTargetError,         // 0x0300 and other 0x03xx
  kServiceUnavailable,  // 0x0301
  kOutOfResources,      // 0x0302
  // Detected on our side.
  kChapNotConfigured,  // the target demands authentication we have no credentials for
  kMutualAuthFailed,   // the target failed mutual CHAP (or skipped it)
  kNegotiationFailed,  // an operational or security key could not be agreed
  kProtocolError,      // malformed or out-of-sequence response
  kBadConfig,          // the LoginConfig itself is unusable
};

absl::string_view LoginFailureName(LoginFailure f);

// The failure for a Login Response status (class, detail); kNone for 0x0000.
LoginFailure LoginFailureFromStatus(uint8_t status_class, uint8_t status_detail);

// absl::Status carrying `failure` as a payload; the code follows the cause
// (NotFound, PermissionDenied, Unavailable, ...).
absl::Status MakeLoginError(LoginFailure failure, absl::string_view message);

// The LoginFailure inside `status`, kNone if it carries none.
LoginFailure GetLoginFailure(const absl::Status& status);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_LOGIN_STATUS_H_
