#ifndef ISER_CLIENT_TRANSPORT_ISER_OPTIONS_H_
#define ISER_CLIENT_TRANSPORT_ISER_OPTIONS_H_

#include <cstdint>

#include "iser_client/transport/iser_slots.h"

namespace isergw::iscsi {

// How an iSER connection runs (the CLI's --strict-rdma and --busy-poll).
struct IserOptions {
  // Each command's buffer is exposed through a type 2 memory window bound
  // to exactly that buffer for that command and invalidated when it
  // completes, instead of the rkey of the whole registration. Fails the
  // connection with a clear error on a device without type 2 windows.
  bool strict_rdma = false;
  // Strict mode: let the target invalidate each window with its response
  // (Send with Invalidate). Off: we always post the LOCAL_INV ourselves and
  // hold the response until it completes (for targets that get remote
  // invalidation wrong, and to test that path).
  bool remote_invalidation = true;
  // The queue thread polls the completion queue every loop pass (and keeps
  // the io_uring from sleeping) instead of waiting on the completion
  // channel: lower latency for a core spent spinning.
  bool busy_poll = false;
  // The data segment a receive slot holds: the InitiatorRecvDataSegmentLength
  // the login declares (MakeSessionConfig keeps the two equal).
  uint32_t recv_data_bytes = SlotLayout::kDataBytes;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_ISER_OPTIONS_H_
