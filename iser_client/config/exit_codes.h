// Process exit codes, the same numbers iscsiadm uses (open-iscsi's
// include/iscsi_err.h), so scripts written for iscsiadm can test isergw's
// exit status the same way. Not every code has a use in isergw (there is no
// iscsid, iSNS or node database); they are listed so the numbering is plain.
//
// Failures are classified where they happen: the transport, login and
// session code attach a FailureKind to the absl::Status they return
// (TagFailure), and the CLI turns the final status into an exit code
// (ExitCodeFor). The kind decides when present, otherwise the absl code:
//
//   FailureKind           exit  ExitCode
//   --------------------  ----  ------------------------
//   kConnectionRefused       4  kTransport
//   kNoRoute                 4  kTransport
//   kTimedOut                8  kTransportTimeout
//   kLoginFailed             5  kLoginFailed
//   kAuthFailed             24  kLoginAuthFailed
//   kAuthorizationFailed    24  kLoginAuthFailed
//   kTargetNotFound         19  kFatalLogin
//   kLunNotFound            21  kNoObjectsFound
//   kInvalidArgument         7  kInvalidArgument
//   kTransport               4  kTransport
//   kProtocol                4  kTransport
//   kIo                      1  kGeneric
//
//   absl code (no kind)   exit  ExitCode
//   --------------------  ----  ------------------------
//   OK                       0  kSuccess
//   InvalidArgument          7  kInvalidArgument
//   OutOfRange               7  kInvalidArgument
//   NotFound                21  kNoObjectsFound
//   AlreadyExists           15  kSessionExists
//   PermissionDenied        13  kAccessDenied
//   Unauthenticated         24  kLoginAuthFailed
//   DeadlineExceeded         8  kTransportTimeout
//   ResourceExhausted        3  kNoMemory
//   Unavailable              4  kTransport
//   Unimplemented           27  kOperationNotSupported
//   Internal                 9  kInternal
//   Aborted                 29  kAgain
//   anything else            1  kGeneric
//
// Authentication (CHAP) and authorization (ACL) failures both give 24, and a
// target that does not exist gives 19, as open-iscsi does for login status
// 02/01, 02/02 and 02/03. A protocol violation by the target is a connection
// failure for open-iscsi too, hence 4.
#ifndef ISER_CLIENT_CONFIG_EXIT_CODES_H_
#define ISER_CLIENT_CONFIG_EXIT_CODES_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace isergw::iscsi {

enum class ExitCode : int {
  kSuccess = 0,                 // ISCSI_SUCCESS
  kGeneric = 1,                 // ISCSI_ERR: generic error
  kSessionNotFound = 2,         // ISCSI_ERR_SESS_NOT_FOUND: no such session
  kNoMemory = 3,                // ISCSI_ERR_NOMEM: could not allocate resources
  kTransport = 4,               // ISCSI_ERR_TRANS: transport error (connect, reset, ...)
  kLoginFailed = 5,             // ISCSI_ERR_LOGIN: generic login failure
  kDatabase = 6,                // ISCSI_ERR_IDBM: error accessing the record database
  kInvalidArgument = 7,         // ISCSI_ERR_INVAL: invalid argument
  kTransportTimeout = 8,        // ISCSI_ERR_TRANS_TIMEOUT: timed out connecting/logging in
  kInternal = 9,                // ISCSI_ERR_INTERNAL: internal failure
  kLogoutFailed = 10,           // ISCSI_ERR_LOGOUT: logout failed
  kPduTimeout = 11,             // ISCSI_ERR_PDU_TIMEOUT: an iSCSI PDU timed out
  kTransportNotFound = 12,      // ISCSI_ERR_TRANS_NOT_FOUND: transport module not available
  kAccessDenied = 13,           // ISCSI_ERR_ACCESS: permission denied
  kTransportCaps = 14,          // ISCSI_ERR_TRANS_CAPS: transport cannot do the operation
  kSessionExists = 15,          // ISCSI_ERR_SESS_EXISTS: session already logged in
  kInvalidMgmtRequest = 16,     // ISCSI_ERR_INVALID_MGMT_REQ: invalid management request
  kIsnsUnavailable = 17,        // ISCSI_ERR_ISNS_UNAVAILABLE: iSNS not supported
  kDaemonCommError = 18,        // ISCSI_ERR_ISCSID_COMM_ERR: read/write to the daemon failed
  kFatalLogin = 19,             // ISCSI_ERR_FATAL_LOGIN: non-retryable login error
  kDaemonNotConnected = 20,     // ISCSI_ERR_ISCSID_NOTCONN: could not connect to the daemon
  kNoObjectsFound = 21,         // ISCSI_ERR_NO_OBJS_FOUND: no records/targets/sessions/LUNs
  kSysfsLookup = 22,            // ISCSI_ERR_SYSFS_LOOKUP: sysfs lookup failed
  kHostNotFound = 23,           // ISCSI_ERR_HOST_NOT_FOUND: could not look up the host
  kLoginAuthFailed = 24,        // ISCSI_ERR_LOGIN_AUTH_FAILED: authentication/authorization
  kIsnsQuery = 25,              // ISCSI_ERR_ISNS_QUERY: iSNS query failed
  kIsnsRegistration = 26,       // ISCSI_ERR_ISNS_REG_FAILED: iSNS (de)registration failed
  kOperationNotSupported = 27,  // ISCSI_ERR_OP_NOT_SUPP: operation not supported
  kBusy = 28,                   // ISCSI_ERR_BUSY: device or resource in use
  kAgain = 29,                  // ISCSI_ERR_AGAIN: failed, but retrying may succeed
  kUnknownDiscoveryType = 30,   // ISCSI_ERR_UNKNOWN_DISCOVERY_TYPE
  kChildTerminated = 31,        // ISCSI_ERR_CHILD_TERMINATED: a child process died
};

// What failed, attached to a status by the code that saw it fail.
enum class FailureKind {
  kNone,                 // no tag: ExitCodeFor uses the absl code
  kConnectionRefused,    // TCP RST / RDMA reject on connect
  kNoRoute,              // no route / host unreachable / name did not resolve
  kTimedOut,             // connect or login timed out
  kLoginFailed,          // target rejected the login (other reasons, retryable)
  kAuthFailed,           // CHAP failed (login status 02/01, or our check of the target)
  kAuthorizationFailed,  // target refused this initiator (login status 02/02)
  kTargetNotFound,       // no such target (login status 02/03, 02/04)
  kLunNotFound,          // the URL's LUN is not reported by the target
  kInvalidArgument,      // bad user input
  kTransport,            // connection lost or reset after it was up
  kProtocol,             // the target broke RFC 7143 (malformed PDU, bad sequence)
  kIo,                   // a SCSI command failed
};

// Payload type URL under which the kind is stored.
inline constexpr absl::string_view kFailurePayloadUrl = "isergw/failure";

// Attaches `kind` to `status` (a no-op on an OK status; kNone removes a tag).
void TagFailure(absl::Status& status, FailureKind kind);

// Returns `status` tagged with `kind`, for `return WithFailure(...)`.
absl::Status WithFailure(absl::Status status, FailureKind kind);

// The kind attached to `status`, or kNone.
FailureKind GetFailureKind(const absl::Status& status);

// Stable lower-case name ("auth_failed"), also the payload's content.
absl::string_view FailureKindName(FailureKind kind);

// The exit code for `status`: one set with WithExitCode, else from its
// FailureKind, else from its absl code.
ExitCode ExitCodeFor(const absl::Status& status);

// Fixes the exit code of `status` (the CLI relays the daemon's this way).
absl::Status WithExitCode(absl::Status status, int code);

inline int ExitCodeValue(ExitCode code) { return static_cast<int>(code); }

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_EXIT_CODES_H_
