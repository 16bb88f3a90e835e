#ifndef TOOLS_CLI_TARGET_H_
#define TOOLS_CLI_TARGET_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/config/url.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::cli {

// What a verb needs to log in: the parsed URL, the login options built from
// it and the flags (initiator name, CHAP from file, environment or URL,
// digests, timeouts), and the URL as it may be shown (no secrets).
struct ResolvedTarget {
  iscsi::ParsedUrl url;
  iscsi::InitiatorOptions options;
  std::string display;
};

absl::StatusOr<ResolvedTarget> ResolveTarget(const std::string& url_text);

// Login options for a discovery session on `portal` (HOST[:PORT]).
absl::StatusOr<iscsi::InitiatorOptions> ResolveDiscovery(const std::string& portal);

// A logged-in session on the URL's LUN, probed.
struct OpenedLun {
  std::unique_ptr<uring::EventLoop> loop;
  std::unique_ptr<iscsi::Initiator> initiator;
  iscsi::LunInfo info;
  uint64_t lun_field = 0;  // the 8-byte LUN for ScsiRequest::lun
  std::string display;
  iscsi::TransportKind transport = iscsi::TransportKind::kTcp;
};

// `max_commands` sizes the session's task slots (the queue depth wanted).
absl::StatusOr<OpenedLun> OpenLun(const std::string& url_text, uint32_t max_commands = 128);

}  // namespace isergw::cli

#endif  // TOOLS_CLI_TARGET_H_
