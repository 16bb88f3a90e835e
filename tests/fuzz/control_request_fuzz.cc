// libFuzzer target for the control socket: the input is one request line as
// a local client sends it, taken through every check the daemon makes before
// it acts (ParseRequest, then the fields each op reads: VolumeSpecFromJson and
// ValidateVolumeSpec for "attach", the json_fields readers for "detach",
// "status" and "set", and the value "set" takes), then the reply it would
// write back. The same bytes are also read as a reply, the client's side.
// Nothing is attached or opened.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "gateway/control_protocol.h"
#include "gateway/json_fields.h"
#include "gateway/path_recovery.h"
#include "gateway/volume_spec.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "ublk/device.h"
#include "ublk/params.h"

namespace isergw::gateway {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// The daemon answers every request with one line; dump() throws on strings
// that are not UTF-8, so an error message that quotes a cut input would
// end the daemon. Whatever the reply, the client must read it back as it was.
void CheckReply(const absl::Status& status) {
  const nlohmann::json reply = ErrorReply(status);
  const std::string line = reply.dump();
  Check(line.find('\n') == std::string::npos);  // one request, one line
  auto parsed = ParseReply(line);
  Check(!parsed.ok());
  Check(parsed.status().message() == status.message());
  Check(iscsi::ExitCodeValue(iscsi::ExitCodeFor(parsed.status())) == reply["exit_code"].get<int>());
}

// A reader must accept exactly the values of its type and leave `out` alone
// otherwise.
template <typename Int>
void CheckUnsigned(const nlohmann::json& object, const char* key) {
  Int value = 7;
  const absl::Status s = ReadUnsigned(object, key, value);
  auto it = object.find(key);
  if (it == object.end()) {
    Check(s.ok() && value == 7);
    return;
  }
  const bool fits =
      it->is_number_unsigned() && it->get<uint64_t>() <= std::numeric_limits<Int>::max();
  Check(s.ok() == fits);
  Check(fits ? value == it->get<uint64_t>() : value == 7);
  if (!s.ok()) CheckReply(s);
}

void CheckFields(const nlohmann::json& request) {
  for (const auto& [key, value] : request.items()) {
    std::string text = "unchanged";
    const absl::Status string_read = ReadString(request, key.c_str(), text);
    Check(string_read.ok() == value.is_string());
    Check(value.is_string() ? text == value.get<std::string>() : text == "unchanged");
    if (!string_read.ok()) CheckReply(string_read);

    bool flag = true;
    const absl::Status bool_read = ReadBool(request, key.c_str(), flag);
    Check(bool_read.ok() == value.is_boolean());
    Check(value.is_boolean() ? flag == value.get<bool>() : flag);
    if (!bool_read.ok()) CheckReply(bool_read);

    CheckUnsigned<uint8_t>(request, key.c_str());
    CheckUnsigned<uint16_t>(request, key.c_str());
    CheckUnsigned<uint32_t>(request, key.c_str());
    CheckUnsigned<uint64_t>(request, key.c_str());
  }
}

// "detach", "status" and "set" name a volume by name or device path.
void CheckVolumeKey(const nlohmann::json& request) {
  std::string key;
  const absl::Status s = ReadString(request, "volume", key);
  if (!s.ok()) return;
  auto id = ublk::ParseDevicePath(key);
  if (!id.ok()) CheckReply(id.status());
  (void)ValidateVolumeName(key);
}

// "set": what Daemon::Set checks before it touches the volume, applied to
// a volume that was valid before.
void CheckSet(const nlohmann::json& request) {
  std::string name, value;
  if (!ReadString(request, "key", name).ok() || !ReadString(request, "value", value).ok()) return;
  if (name != "replacement-timeout") return;
  uint32_t seconds = 0;
  if (!absl::SimpleAtoi(value, &seconds)) return;
  VolumeSpec spec;
  spec.name = "vol";
  spec.url = "mem://64M";
  Check(ValidateVolumeSpec(spec).ok());
  spec.replacement_timeout_s = seconds;
  const absl::Status valid = ValidateVolumeSpec(spec);
  Check(valid.ok() == (seconds <= kMaxReplacementTimeoutSeconds));
  if (!valid.ok()) CheckReply(valid);
}

void CheckAttach(const nlohmann::json& request) {
  auto spec = VolumeSpecFromJson(request.contains("volume") ? request["volume"] : nlohmann::json());
  if (!spec.ok()) {
    CheckReply(spec.status());
    return;
  }
  // What the daemon records in its state file reads back the same.
  auto again = VolumeSpecFromJson(VolumeSpecToJson(*spec));
  Check(again.ok());
  Check(VolumeSpecToJson(*again) == VolumeSpecToJson(*spec));

  // A volume without a name gets one, and that name is always a valid one.
  if (spec->name.empty()) {
    spec->name = DefaultVolumeName(spec->url);
    Check(ValidateVolumeName(spec->name).ok());
  }
  const absl::Status valid = ValidateVolumeSpec(*spec);
  if (!valid.ok()) {
    CheckReply(valid);
    return;
  }
  // What passes is what the daemon may act on.
  Check(ValidateVolumeName(spec->name).ok());
  Check(spec->queues >= 1 && spec->queues <= ublk::kMaxQueues);
  Check(spec->depth >= 1 && spec->depth <= ublk::kMaxQueueDepth);
  auto url = iscsi::ParseUrl(spec->url);
  Check(url.ok());
  Check(!url->password.has_value() && !url->target_password.has_value());
  (void)VolumeSpecToJson(*spec).dump();
}

}  // namespace
}  // namespace isergw::gateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace isergw::gateway;  // NOLINT(build/namespaces): fuzz harness
  const absl::string_view line(reinterpret_cast<const char*>(data), size);

  // The client's side: any line the daemon might send.
  auto reply = ParseReply(line);
  if (reply.ok()) {
    Check(reply->is_object() && reply->at("ok").get<bool>());
  } else {
    (void)ErrorReply(reply.status()).dump();
  }

  auto request = ParseRequest(line);
  if (!request.ok()) {
    Check(request.status().code() == absl::StatusCode::kInvalidArgument);
    CheckReply(request.status());
    return 0;
  }
  Check(size <= kMaxMessageBytes);
  Check(request->is_object() && request->at("op").is_string());
  const std::string op = request->value("op", "");
  CheckFields(*request);
  if (op == "attach") {
    CheckAttach(*request);
  } else if (op == "detach" || op == "status" || op == "set") {
    CheckVolumeKey(*request);
    if (op == "set") CheckSet(*request);
  }
  (void)request->dump();
  return 0;
}
