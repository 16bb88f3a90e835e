#include "tools/cli/rdma_flags.h"

#include <glog/logging.h>

DEFINE_bool(strict_rdma, false,
            "iser://: expose each command's buffer to the target through a memory window bound "
            "for that command only and invalidated when it completes (needs type 2 memory "
            "windows on the RDMA device)");
DEFINE_bool(busy_poll, false,
            "iser://: poll the completion queue in a loop instead of sleeping until the next "
            "completion (lower latency, one core busy per queue thread)");

namespace isergw::cli {

void ApplyRdmaFlags(iscsi::InitiatorOptions& options) {
  options.iser.strict_rdma = FLAGS_strict_rdma;
  options.iser.busy_poll = FLAGS_busy_poll;
  if (FLAGS_busy_poll && options.transport != iscsi::TransportKind::kIser) {
    LOG(WARNING) << "--busy-poll applies to iser:// only; ignored over TCP";
  }
}

}  // namespace isergw::cli
