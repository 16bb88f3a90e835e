#ifndef TOOLS_CLI_BACKEND_H_
#define TOOLS_CLI_BACKEND_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "iser_client/config/url.h"
#include "ublk/backend.h"

namespace isergw::cli {

// The backend `url` names, as the serving verbs (attach --foreground,
// export) open it: --block_size for files and RAM; for iSCSI the login the
// other verbs resolve (names, CHAP, digests, timeouts, RDMA flags) with
// --depth commands in flight per session.
absl::StatusOr<std::unique_ptr<ublk::Backend>> OpenBackendFromFlags(const std::string& url_text,
                                                                    const iscsi::ParsedUrl& url);

}  // namespace isergw::cli

#endif  // TOOLS_CLI_BACKEND_H_
