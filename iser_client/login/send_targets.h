// Discovery: the answer to "SendTargets=All" (RFC 7143 section 13.3 and appendix C).
#ifndef ISER_CLIENT_LOGIN_SEND_TARGETS_H_
#define ISER_CLIENT_LOGIN_SEND_TARGETS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

// One TargetAddress: "domainname[:port][,tpgt]", IPv6 hosts in brackets.
struct TargetPortal {
  std::string host;  // without brackets for IPv6
  uint16_t port = kDefaultIscsiPort;
  std::optional<uint16_t> portal_group_tag;
  bool operator==(const TargetPortal&) const = default;
};

struct DiscoveredTarget {
  std::string name;
  std::vector<TargetPortal> portals;  // empty: reach it where discovery ran
  bool operator==(const DiscoveredTarget&) const = default;
};

// Parses "host[:port][,tpgt]" (also "[v6addr][:port][,tpgt]").
absl::StatusOr<TargetPortal> ParseTargetAddress(absl::string_view value);

// Parses a complete (already joined) SendTargets answer. Each TargetName starts
// a target; the TargetAddress keys after it belong to it; other keys are
// ignored. A TargetAddress before any TargetName is an error.
absl::StatusOr<std::vector<DiscoveredTarget>> ParseSendTargets(std::span<const uint8_t> text);
absl::StatusOr<std::vector<DiscoveredTarget>> ParseSendTargets(absl::string_view text);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_SEND_TARGETS_H_
