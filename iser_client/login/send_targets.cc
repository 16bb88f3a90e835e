#include "iser_client/login/send_targets.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "iser_client/login/text_params.h"

namespace isergw::iscsi {
namespace {

absl::StatusOr<uint16_t> ParseU16(absl::string_view what, absl::string_view s,
                                  absl::string_view whole) {
  uint32_t v = 0;
  if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(s, &v) || v > 0xffff) {
    return absl::InvalidArgumentError(
        absl::StrCat("TargetAddress '", whole, "': bad ", what, " '", s, "'"));
  }
  return static_cast<uint16_t>(v);
}

}  // namespace

absl::StatusOr<TargetPortal> ParseTargetAddress(absl::string_view value) {
  TargetPortal portal;
  absl::string_view rest = value;
  // The portal group tag follows the last comma (hosts never contain commas).
  if (const size_t comma = rest.rfind(','); comma != absl::string_view::npos) {
    auto tag = ParseU16("portal group tag", rest.substr(comma + 1), value);
    if (!tag.ok()) return tag.status();
    portal.portal_group_tag = *tag;
    rest = rest.substr(0, comma);
  }
  absl::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("TargetAddress '", value, "': missing ']'"));
    }
    portal.host = std::string(rest.substr(1, close - 1));
    absl::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return absl::InvalidArgumentError(
            absl::StrCat("TargetAddress '", value, "': junk after ']'"));
      }
      port = after.substr(1);
      if (port.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("TargetAddress '", value, "': empty port"));
      }
    }
  } else {
    const size_t colon = rest.find(':');
    if (colon != absl::string_view::npos) {
      if (rest.find(':', colon + 1) != absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("TargetAddress '", value, "': IPv6 address must be in brackets"));
      }
      port = rest.substr(colon + 1);
      if (port.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("TargetAddress '", value, "': empty port"));
      }
      rest = rest.substr(0, colon);
    }
    portal.host = std::string(rest);
  }
  if (portal.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("TargetAddress '", value, "': empty host"));
  }
  if (!port.empty()) {
    auto p = ParseU16("port", port, value);
    if (!p.ok()) return p.status();
    if (*p == 0) {
      return absl::InvalidArgumentError(absl::StrCat("TargetAddress '", value, "': port 0"));
    }
    portal.port = *p;
  }
  return portal;
}

absl::StatusOr<std::vector<DiscoveredTarget>> ParseSendTargets(absl::string_view text) {
  TextParseOptions options;
  options.reject_duplicate_keys = false;
  auto pairs = ParseText(text, options);
  if (!pairs.ok()) return pairs.status();
  std::vector<DiscoveredTarget> targets;
  for (const TextPair& p : *pairs) {
    if (p.key == "TargetName") {
      if (p.value.empty()) return absl::InvalidArgumentError("SendTargets: empty TargetName");
      targets.push_back(DiscoveredTarget{p.value, {}});
    } else if (p.key == "TargetAddress") {
      if (targets.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("SendTargets: TargetAddress '", p.value, "' before any TargetName"));
      }
      auto portal = ParseTargetAddress(p.value);
      if (!portal.ok()) return portal.status();
      targets.back().portals.push_back(*std::move(portal));
    }
  }
  return targets;
}

absl::StatusOr<std::vector<DiscoveredTarget>> ParseSendTargets(std::span<const uint8_t> text) {
  return ParseSendTargets(
      absl::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
}

}  // namespace isergw::iscsi
