// The daemon's control protocol: over a Unix stream socket, one request per
// connection, each message one line of JSON (at most kMaxMessageBytes):
//   {"op":"attach","volume":{VolumeSpec},"wait":true}
//   {"op":"detach","volume":"NAME or /dev/ublkbN","force":false}
//   {"op":"list"}
//   {"op":"status","volume":"NAME or /dev/ublkbN"}   ("volume" optional: all)
//   {"op":"set","volume":"NAME","key":"replacement-timeout","value":"SECONDS"}
// Replies: {"ok":true,...} or {"ok":false,"error":"one line","exit_code":N}
// where exit_code is what the CLI exits with (iscsiadm's codes).
#ifndef GATEWAY_CONTROL_PROTOCOL_H_
#define GATEWAY_CONTROL_PROTOCOL_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace isergw::gateway {

inline constexpr size_t kMaxMessageBytes = 64 * 1024;
inline constexpr char kDefaultControlSocket[] = "/run/isergw/control.sock";

// A request line: a JSON object with a string "op". Errors are
// InvalidArgument naming what is wrong.
absl::StatusOr<nlohmann::json> ParseRequest(absl::string_view line);

nlohmann::json ErrorReply(const absl::Status& status);
// A reply line as the client got it: the reply object, or the error it
// carries as a Status (with its exit code set, see iscsi::WithExitCode).
absl::StatusOr<nlohmann::json> ParseReply(absl::string_view line);

}  // namespace isergw::gateway

#endif  // GATEWAY_CONTROL_PROTOCOL_H_
