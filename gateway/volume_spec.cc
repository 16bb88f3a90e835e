#include "gateway/volume_spec.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "gateway/json_fields.h"
#include "gateway/path_recovery.h"
#include "iser_client/config/digest_option.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "ublk/params.h"

namespace isergw::gateway {
namespace {

constexpr size_t kMaxNameLength = 64;

absl::Status Invalid(std::string message) {
  return iscsi::WithFailure(absl::InvalidArgumentError(std::move(message)),
                            iscsi::FailureKind::kInvalidArgument);
}

bool NameChar(char c) { return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-'; }

// Keeps what a device name may hold; the rest becomes '-'.
std::string Sanitize(absl::string_view text) {
  std::string out;
  for (char c : text) out.push_back(NameChar(c) ? c : '-');
  while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(0, 1);
  if (out.size() > kMaxNameLength) out.resize(kMaxNameLength);
  return out.empty() ? "volume" : out;
}

absl::Status ValidateDigest(const std::string& value, const char* what) {
  return iscsi::ParseDigestPreference(value, what).status();
}

}  // namespace

absl::StatusOr<TransportChoice> ParseTransportChoice(absl::string_view text) {
  if (text.empty() || text == "url") return TransportChoice::kFromUrl;
  if (text == "iser") return TransportChoice::kIser;
  if (text == "tcp") return TransportChoice::kTcp;
  if (text == "auto") return TransportChoice::kAuto;
  return Invalid(absl::StrCat("--transport must be iser, tcp or auto, not '", text, "'"));
}

absl::string_view TransportChoiceName(TransportChoice choice) {
  switch (choice) {
    case TransportChoice::kFromUrl:
      return "url";
    case TransportChoice::kIser:
      return "iser";
    case TransportChoice::kTcp:
      return "tcp";
    case TransportChoice::kAuto:
      return "auto";
  }
  return "url";
}

absl::Status ValidateVolumeName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return Invalid(absl::StrCat("a volume name must be 1 to ", kMaxNameLength, " characters"));
  }
  if (name.front() == '.' || name.front() == '-') {
    return Invalid(absl::StrCat("volume name '", name, "' must not start with '.' or '-'"));
  }
  for (char c : name) {
    if (!NameChar(c)) {
      return Invalid(
          absl::StrCat("volume name '", name, "' may only hold letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateVolumeSpec(const VolumeSpec& spec) {
  if (absl::Status s = ValidateVolumeName(spec.name); !s.ok()) return s;
  auto url = iscsi::ParseUrl(spec.url);
  if (!url.ok()) return Invalid(std::string(url.status().message()));
  if (url->password.has_value() || url->target_password.has_value()) {
    return Invalid(
        "the daemon does not take CHAP secrets in URLs (they would end up in its state): put "
        "them in a file of mode 0600 and pass --chap NAME (/etc/isergw/chap/NAME) or --chap-file "
        "PATH");
  }
  if (spec.queues < 1 || spec.queues > ublk::kMaxQueues) {
    return Invalid(absl::StrCat("queues must be 1 to ", ublk::kMaxQueues, ", not ", spec.queues));
  }
  if (spec.depth < 1 || spec.depth > ublk::kMaxQueueDepth) {
    return Invalid(absl::StrCat("depth must be 1 to ", ublk::kMaxQueueDepth, ", not ", spec.depth));
  }
  if (!url->IsIscsi() && spec.transport != TransportChoice::kFromUrl) {
    return Invalid("--transport applies to iscsi:// and iser:// URLs only");
  }
  if (!spec.chap.empty()) {
    if (!url->IsIscsi()) return Invalid("CHAP applies to iscsi:// and iser:// URLs only");
    if (spec.chap.front() != '/') {
      if (absl::Status s = ValidateVolumeName(spec.chap); !s.ok()) {
        return Invalid(
            absl::StrCat("--chap takes a credentials name (a file in the chap/ "
                         "folder of the configuration) or an absolute path: ",
                         s.message()));
      }
    }
  }
  if (spec.replacement_timeout_s > kMaxReplacementTimeoutSeconds) {
    return Invalid(absl::StrCat("--replacement-timeout must be 0 to ",
                                kMaxReplacementTimeoutSeconds, " seconds, not ",
                                spec.replacement_timeout_s));
  }
  if (!spec.portals.empty() || spec.spread_portals || spec.discover_portals) {
    if (!url->IsIscsi()) return Invalid("--portals applies to iscsi:// and iser:// URLs only");
    auto portals = ParsePortalList(spec.portals);
    if (!portals.ok()) return Invalid(absl::StrCat("--portals: ", portals.status().message()));
  }
  if (!spec.iface.empty()) {
    if (!url->IsIscsi()) return Invalid("--iface applies to iscsi:// and iser:// URLs only");
    if (absl::Status s = ValidateInterfaceName(spec.iface); !s.ok()) return s;
  }
  if (absl::Status s = ValidateDigest(spec.header_digest, "header digest"); !s.ok()) return s;
  if (absl::Status s = ValidateDigest(spec.data_digest, "data digest"); !s.ok()) return s;
  return absl::OkStatus();
}

std::string DefaultVolumeName(absl::string_view url_text) {
  auto url = iscsi::ParseUrl(url_text);
  if (!url.ok()) return "volume";
  switch (url->scheme) {
    case iscsi::ParsedUrl::Scheme::kIscsi:
    case iscsi::ParsedUrl::Scheme::kIser: {
      absl::string_view iqn = url->target_iqn;
      const size_t cut = iqn.find_last_of(":.");
      if (cut != absl::string_view::npos && cut + 1 < iqn.size()) iqn.remove_prefix(cut + 1);
      return Sanitize(absl::StrCat(iqn, "-lun", url->lun));
    }
    case iscsi::ParsedUrl::Scheme::kFile: {
      absl::string_view path = url->path;
      const size_t slash = path.find_last_of('/');
      if (slash != absl::string_view::npos) path.remove_prefix(slash + 1);
      return Sanitize(path);
    }
    case iscsi::ParsedUrl::Scheme::kMem:
      return absl::StrCat("mem-", url->mem_size >> 20, "m");
  }
  return "volume";
}

nlohmann::json VolumeSpecToJson(const VolumeSpec& spec) {
  return nlohmann::json{
      {"name", spec.name},
      {"url", spec.url},
      {"queues", spec.queues},
      {"depth", spec.depth},
      {"transport", std::string(TransportChoiceName(spec.transport))},
      {"persist", spec.persist},
      {"chap", spec.chap},
      {"header_digest", spec.header_digest},
      {"data_digest", spec.data_digest},
      {"block_size", spec.block_size},
      {"strict_rdma", spec.strict_rdma},
      {"busy_poll", spec.busy_poll},
      {"replacement_timeout_s", spec.replacement_timeout_s},
      {"portals", spec.portals},
      {"spread_portals", spec.spread_portals},
      {"iface", spec.iface},
      {"discover_portals", spec.discover_portals},
      {"lun_serial", spec.lun_serial},
      {"lun_wwn", spec.lun_wwn},
  };
}

absl::StatusOr<VolumeSpec> VolumeSpecFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return Invalid("a volume must be a JSON object");
  VolumeSpec spec;
  std::string transport;
  for (absl::Status s : {
           ReadString(json, "name", spec.name),
           ReadString(json, "url", spec.url),
           ReadUnsigned(json, "queues", spec.queues),
           ReadUnsigned(json, "depth", spec.depth),
           ReadString(json, "transport", transport),
           ReadBool(json, "persist", spec.persist),
           ReadString(json, "chap", spec.chap),
           ReadString(json, "header_digest", spec.header_digest),
           ReadString(json, "data_digest", spec.data_digest),
           ReadUnsigned(json, "block_size", spec.block_size),
           ReadBool(json, "strict_rdma", spec.strict_rdma),
           ReadBool(json, "busy_poll", spec.busy_poll),
           ReadUnsigned(json, "replacement_timeout_s", spec.replacement_timeout_s),
           ReadString(json, "portals", spec.portals),
           ReadBool(json, "spread_portals", spec.spread_portals),
           ReadString(json, "iface", spec.iface),
           ReadBool(json, "discover_portals", spec.discover_portals),
           ReadString(json, "lun_serial", spec.lun_serial),
           ReadString(json, "lun_wwn", spec.lun_wwn),
       }) {
    if (!s.ok()) return Invalid(std::string(s.message()));
  }
  auto choice = ParseTransportChoice(transport);
  if (!choice.ok()) return choice.status();
  spec.transport = *choice;
  return spec;
}

}  // namespace isergw::gateway
