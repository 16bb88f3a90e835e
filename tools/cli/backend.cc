#include "tools/cli/backend.h"

#include "absl/strings/str_cat.h"
#include "gateway/backend_factory.h"
#include "gateway/path_recovery.h"
#include "iser_client/config/exit_codes.h"
#include "tools/cli/daemon_flags.h"
#include "tools/cli/flags.h"
#include "tools/cli/target.h"

namespace isergw::cli {

absl::StatusOr<std::unique_ptr<ublk::Backend>> OpenBackendFromFlags(const std::string& url_text,
                                                                    const iscsi::ParsedUrl& url) {
  if (FLAGS_block_size < 0 || FLAGS_block_size > 65536) {
    return iscsi::WithFailure(
        absl::InvalidArgumentError(absl::StrCat("block size ", FLAGS_block_size,
                                                " is not a power of two between 512 and 4096")),
        iscsi::FailureKind::kInvalidArgument);
  }
  gateway::BackendOptions options;
  options.block_size = static_cast<uint32_t>(FLAGS_block_size);
  if (url.IsIscsi()) {
    auto target = ResolveTarget(url_text);
    if (!target.ok()) return target.status();
    target->options.session.max_commands = static_cast<uint32_t>(FLAGS_depth);
    options.initiator = std::move(target->options);
    auto portals = gateway::ParsePortalList(FLAGS_portals);
    if (!portals.ok()) return portals.status();
    if (FLAGS_replacement_timeout > gateway::kMaxReplacementTimeoutSeconds) {
      return iscsi::WithFailure(
          absl::InvalidArgumentError(absl::StrCat("--replacement-timeout must be 0 to ",
                                                  gateway::kMaxReplacementTimeoutSeconds,
                                                  " seconds, not ", FLAGS_replacement_timeout)),
          iscsi::FailureKind::kInvalidArgument);
    }
    options.paths.more_portals = std::move(*portals);
    options.paths.spread_queues = FLAGS_spread_portals;
    options.paths.discover_portals = FLAGS_discover_portals;
    options.paths.replacement_timeout = absl::Seconds(FLAGS_replacement_timeout);
  }
  return gateway::OpenBackend(url, options);
}

}  // namespace isergw::cli
