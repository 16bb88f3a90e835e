#ifndef ISER_CLIENT_TRANSPORT_ISER_TRANSPORT_H_
#define ISER_CLIENT_TRANSPORT_ISER_TRANSPORT_H_

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "iser_client/transport/iser_memory.h"
#include "iser_client/transport/iser_options.h"
#include "iser_client/transport/iser_slots.h"
#include "iser_client/transport/iser_windows.h"
#include "iser_client/transport/transport.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::iscsi {

// Counters beyond TransportStats, for tests and diagnosis.
struct IserStats {
  uint64_t send_completions = 0;
  uint64_t recv_completions = 0;
  uint64_t cq_events = 0;
  uint64_t cq_polls = 0;  // ibv_poll_cq calls
  // Strict mode: the last rkey advertised for a command's buffer.
  uint32_t last_command_rkey = 0;
};

// iSCSI over RDMA (iSER, RFC 7145) with librdmacm and libibverbs, as Linux
// targets (LIO's ib_isert) expect it: RDMA CM connect with the iSER private
// data, every PDU (login included) an RDMA Send behind the 28-byte iSER
// header, data moved by the target (RDMA Write into a read's buffer, RDMA
// Read from a write's buffer past its immediate data).
//
// No threads and no blocking: the CM event channel and the completion
// channel are non-blocking fds polled through the loop's io_uring; Sends
// queued during a pass go out in one ibv_post_send from BeforeSubmit().
// Memory: one registration holds every PDU buffer (fixed send and receive
// slots); command buffers are found in a RegistrationCache (registered on
// first use, whole mapping at a time, never per I/O).
//
// Trust model: every registration allows remote read and write, and the
// STag (rkey) of a command is that of the whole region holding its buffer.
// A misbehaving target that learns an rkey can therefore read or overwrite
// any byte of that region (the caller's whole I/O buffer area, or the
// mapping around a buffer registered on the fly) for as long as the
// connection lives, not only the current command's buffer; it cannot reach
// memory outside the registered regions, nor the PDU slots of other
// connections (a protection domain per connection). Closing the connection
// deregisters everything.
//
// Strict mode (IserOptions::strict_rdma) closes that: registrations allow
// local access and window binding only (their own rkeys reach nothing), and
// each command's buffer is exposed through a type 2 memory window bound to
// exactly the bytes the target must move, with only the access it needs
// (remote write for a read, remote read for a write), by a BIND_MW work
// request posted before the command's Send. The window's rkey changes at
// every bind. When the command's response arrives the window is invalid:
// the target invalidated it (Send with Invalidate, which strict mode allows
// in the CM private data), or we post a LOCAL_INV and hold the response back
// from the session until it completes, so the buffer is never handed back
// while the target could still reach it. A window is bound again only after
// its invalidation completed.
//
// Completions: by default the completion channel's fd is polled through the
// io_uring; IserOptions::busy_poll instead polls the CQ on every loop pass
// and keeps the loop from sleeping (a no-op SQE per pass). Either way the CQ
// is drained in batches and the receives freed by a batch are re-posted as
// one chained list; the Sends (and strict mode's binds) queued during a pass
// go out as one chained ibv_post_send.
class IserTransport final : public Transport, private uring::PassHook {
 public:
  // The connection's progress (SPDK's nvme_rdma_qpair_state); each CM event
  // is handled by HandleCmEvent() according to it.
  enum class State : uint8_t {
    kIdle,              // nothing started
    kResolvingAddress,  // rdma_resolve_addr() in flight
    kResolvingRoute,    // rdma_resolve_route() in flight
    kConnecting,        // QP created, receives posted, rdma_connect() in flight
    kConnected,         // ESTABLISHED: PDUs flow
    kDraining,          // DISCONNECTED by the target: delivering what came before it
    kClosed,            // closed or failed; resources released
  };

  IserTransport(uring::EventLoop* loop, TransportListener* listener,
                const IserOptions& options = IserOptions());
  ~IserTransport() override;

  TransportKind kind() const override { return TransportKind::kIser; }
  bool MovesDataByRdma() const override { return true; }
  void Connect(const Endpoint& endpoint, absl::Duration timeout) override;
  void Send(const OutgoingPdu& pdu) override;
  void EnterFullFeaturePhase(const FullFeatureLimits& limits) override;
  void Close() override;
  const TransportStats& stats() const override { return stats_; }
  std::string DescribePeer() const override;

  State state() const { return state_; }
  const IserStats& iser_stats() const { return iser_stats_; }

 private:
  struct Conn;  // what io_uring may still complete after the transport is gone

  void OnCmReady();
  void OnCqReady();
  void DrainCompletions();
  void OnConnectTimeout();
  void HandleCmEvent(const rdma_cm_event& event);
  absl::Status TargetClosed() const;
  absl::Status CreateQueuePair();
  void HandleCompletion(const ibv_wc& wc);
  void HandleReceive(uint32_t slot, uint32_t bytes, const ibv_wc* wc);
  void Deliver(uint32_t slot, std::span<const uint8_t> pdu, size_t ahs, size_t data);
  absl::Status CheckWindowSupport();
  absl::Status CreateWindows(uint32_t count);
  void QueueSendWr(ibv_send_wr* wr);
  void PostLocalInvalidate(uint32_t window);
  // Strict mode, on a received response to `itt`: true when the PDU must wait
  // for the invalidation of the command's window (it has been parked).
  bool InvalidateForResponse(uint32_t itt, uint32_t slot, uint32_t bytes, const ibv_wc* wc);
  void OnInvalidated(uint32_t window);
  void QueueRecv(uint32_t slot);
  void ArmPoll(bool cm);
  void BeforeSubmit() override;
  void Fail(absl::Status status);
  void ReleaseResources();

  uring::EventLoop* loop_;
  TransportListener* listener_;
  IserOptions options_;
  Conn* conn_;
  State state_ = State::kIdle;
  Endpoint endpoint_;
  sockaddr_storage address_{};

  rdma_event_channel* cm_channel_ = nullptr;
  rdma_cm_id* cm_id_ = nullptr;
  ibv_pd* pd_ = nullptr;
  ibv_comp_channel* cq_channel_ = nullptr;
  ibv_cq* cq_ = nullptr;
  bool qp_created_ = false;
  std::unique_ptr<RegistrationCache> registrations_;

  SlotLayout layout_;
  uint8_t* pool_ = nullptr;  // every send and receive slot, one registration
  ibv_mr* pool_mr_ = nullptr;
  struct SendSlot {
    ibv_send_wr wr;
    ibv_sge sge[2];
  };
  struct RecvSlot {
    ibv_recv_wr wr;
    ibv_sge sge;
  };
  std::vector<SendSlot> send_slots_;
  std::vector<uint32_t> free_send_slots_;
  std::vector<RecvSlot> recv_slots_;
  ibv_send_wr* send_head_ = nullptr;  // queued this pass, posted by BeforeSubmit()
  ibv_send_wr* send_tail_ = nullptr;
  ibv_recv_wr* recv_head_ = nullptr;  // re-posted after each CQ batch
  ibv_recv_wr* recv_tail_ = nullptr;

  // Strict mode: one type 2 memory window per possible command (twice the
  // window, so invalidations in flight never starve new commands), with
  // their bind and invalidate work requests preallocated.
  struct WindowWrs {
    ibv_send_wr bind;
    ibv_send_wr invalidate;
  };
  std::vector<ibv_mw*> mws_;
  std::vector<WindowWrs> window_wrs_;
  std::unique_ptr<WindowTable> windows_;

  bool full_feature_ = false;  // login done: a disconnect is no login refusal

  TransportStats stats_;
  IserStats iser_stats_;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_ISER_TRANSPORT_H_
