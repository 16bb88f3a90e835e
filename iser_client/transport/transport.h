#ifndef ISER_CLIENT_TRANSPORT_TRANSPORT_H_
#define ISER_CLIENT_TRANSPORT_TRANSPORT_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace isergw::iscsi {

// The transport abstraction (libiscsi's iscsi_transport): the protocol core
// speaks PDUs and never knows whether TCP or iSER carries them.

enum class TransportKind { kTcp, kIser };
const char* TransportKindName(TransportKind kind);

struct Endpoint {
  std::string host;
  uint16_t port = 3260;
  // The network interface the path must use (open-iscsi's iface): TCP binds
  // to it, iSER resolves from its address. Empty: routing decides.
  std::string iface;
};

// A SCSI command's whole data buffer. Over iSER the transport advertises it to
// the target (STag and address) so data moves by RDMA without a copy; over TCP
// it is unused (data goes in Data-Out PDUs).
struct CommandBuffer {
  uint8_t* base = nullptr;
  uint32_t length = 0;
  bool read = false;
  bool write = false;
  // Bytes of the write already sent as immediate data in the command PDU.
  uint32_t immediate = 0;
};

// One outgoing PDU. The transport copies the BHS during Send(); `data` (the
// data segment, unpadded) must stay valid until the command it belongs to
// completes, which the session guarantees.
struct OutgoingPdu {
  std::span<const uint8_t> bhs;  // 48 bytes, AHS appended if any
  std::span<const uint8_t> data;
  const CommandBuffer* command = nullptr;  // SCSI Command PDUs only
};

// One incoming PDU, valid only during the OnPdu() call.
struct IncomingPdu {
  std::span<const uint8_t> bhs;
  std::span<const uint8_t> ahs;
  std::span<const uint8_t> data;
};

// What the session negotiated that the transport must apply to the PDUs that
// follow the final login response.
struct FullFeatureLimits {
  bool header_digest = false;
  bool data_digest = false;
  uint32_t max_recv_data_segment_length = 8192;
};

class TransportListener {
 public:
  // Connect() finished: OK, or why not (tagged with a FailureKind).
  virtual void OnConnected(absl::Status status) = 0;
  virtual void OnPdu(const IncomingPdu& pdu) = 0;
  // The connection is dead; no more callbacks follow.
  virtual void OnTransportError(absl::Status status) = 0;

 protected:
  ~TransportListener() = default;
};

// Counters since the transport was created; callers take differences.
struct TransportStats {
  uint64_t pdus_sent = 0;      // over iSER: RDMA Sends
  uint64_t pdus_received = 0;  // over iSER: RDMA Receives
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t doorbells = 0;  // sendmsg calls / ibv_post_send calls
  // Memory registrations made (ibv_reg_mr; the PDU buffers included); 0 over TCP.
  uint64_t mr_registrations = 0;
  // Command data the target moved by RDMA (advertised buffer bytes); 0 over TCP.
  uint64_t rdma_bytes = 0;
  // Strict mode: memory windows bound, and invalidated by the target (Send
  // with Invalidate) or by us (LOCAL_INV).
  uint64_t windows_bound = 0;
  uint64_t remote_invalidations = 0;
  uint64_t local_invalidations = 0;
};

// All methods run on the owning EventLoop's thread. Send() only queues: the
// queued PDUs go out together at the end of the loop pass.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual TransportKind kind() const = 0;
  // Over iSER the target moves data by RDMA: no Data-Out, Data-In or R2T PDUs.
  virtual bool MovesDataByRdma() const = 0;

  virtual void Connect(const Endpoint& endpoint, absl::Duration timeout) = 0;
  virtual void Send(const OutgoingPdu& pdu) = 0;
  virtual void EnterFullFeaturePhase(const FullFeatureLimits& limits) = 0;
  // Closes the connection; no listener callback runs after it returns.
  virtual void Close() = 0;

  virtual const TransportStats& stats() const = 0;
  virtual std::string DescribePeer() const = 0;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_TRANSPORT_H_
