#include "gateway/control_protocol.h"

#include "absl/strings/str_cat.h"
#include "iser_client/config/exit_codes.h"
#include "ublk/control.h"

namespace isergw::gateway {
namespace {

absl::Status Malformed(absl::string_view what) {
  return iscsi::WithFailure(absl::InvalidArgumentError(absl::StrCat("malformed request: ", what)),
                            iscsi::FailureKind::kInvalidArgument);
}

}  // namespace

absl::StatusOr<nlohmann::json> ParseRequest(absl::string_view line) {
  if (line.size() > kMaxMessageBytes) {
    return Malformed(absl::StrCat("longer than ", kMaxMessageBytes, " bytes"));
  }
  nlohmann::json request = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (request.is_discarded()) return Malformed("not JSON");
  if (!request.is_object()) return Malformed("not a JSON object");
  auto op = request.find("op");
  if (op == request.end() || !op->is_string()) return Malformed("no \"op\" string");
  return request;
}

nlohmann::json ErrorReply(const absl::Status& status) {
  // iscsiadm's "transport module not available" for a missing ublk driver.
  const iscsi::ExitCode code = status.GetPayload(ublk::kDriverMissingPayload).has_value()
                                   ? iscsi::ExitCode::kTransportNotFound
                                   : iscsi::ExitCodeFor(status);
  return {{"ok", false},
          {"error", std::string(status.message())},
          {"exit_code", iscsi::ExitCodeValue(code)}};
}

absl::StatusOr<nlohmann::json> ParseReply(absl::string_view line) {
  nlohmann::json reply = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("ok") ||
      !reply["ok"].is_boolean()) {
    return absl::InternalError("the daemon sent a reply this isergw does not understand");
  }
  if (reply["ok"].get<bool>()) return reply;
  std::string message = "the daemon refused the request";
  if (reply.contains("error") && reply["error"].is_string()) message = reply["error"];
  absl::Status status = absl::FailedPreconditionError(message);
  if (reply.contains("exit_code") && reply["exit_code"].is_number_integer()) {
    status = iscsi::WithExitCode(std::move(status), reply["exit_code"].get<int>());
  }
  return status;
}

}  // namespace isergw::gateway
