#ifndef TOOLS_CLI_RDMA_FLAGS_H_
#define TOOLS_CLI_RDMA_FLAGS_H_

#include <gflags/gflags.h>

#include "iser_client/client/initiator.h"

// How iser:// connections run, for every verb (defined in rdma_flags.cc).
DECLARE_bool(strict_rdma);
DECLARE_bool(busy_poll);

namespace isergw::cli {

// Copies --strict-rdma and --busy-poll into `options`. They only change
// iSER connections; over TCP --busy-poll is reported as ignored, and
// --strict-rdma holds trivially (TCP exposes no memory to the target).
void ApplyRdmaFlags(iscsi::InitiatorOptions& options);

}  // namespace isergw::cli

#endif  // TOOLS_CLI_RDMA_FLAGS_H_
