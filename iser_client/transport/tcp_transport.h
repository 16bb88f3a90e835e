#ifndef ISER_CLIENT_TRANSPORT_TCP_TRANSPORT_H_
#define ISER_CLIENT_TRANSPORT_TCP_TRANSPORT_H_

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "iser_client/pdu/pdu_framer.h"
#include "iser_client/transport/transport.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::iscsi {

// iSCSI over TCP on the owning thread's io_uring: one multi-PDU recv buffer
// (many PDUs per recv), and one sendmsg per loop pass carrying every PDU
// queued in that pass (headers copied into slots, data segments referenced in
// place, never copied).
class TcpTransport final : public Transport, private uring::PassHook {
 public:
  TcpTransport(uring::EventLoop* loop, TransportListener* listener);
  ~TcpTransport() override;

  TransportKind kind() const override { return TransportKind::kTcp; }
  bool MovesDataByRdma() const override { return false; }
  void Connect(const Endpoint& endpoint, absl::Duration timeout) override;
  void Send(const OutgoingPdu& pdu) override;
  void EnterFullFeaturePhase(const FullFeatureLimits& limits) override;
  void Close() override;
  const TransportStats& stats() const override { return stats_; }
  std::string DescribePeer() const override;

 private:
  // Everything the kernel may still touch (the in-flight requests' buffers
  // and completions) lives in Conn, which outlives the transport when it is
  // destroyed with requests in flight: they finish orphaned, then Conn goes.
  struct Conn;

  void OnConnectDone(int res);
  void OnConnectTimeout();
  void OnRecvDone(int res);
  void OnSendDone(int res);
  void BeforeSubmit() override;
  void PostRecv();
  void Fail(absl::Status status);

  uring::EventLoop* loop_;
  TransportListener* listener_;
  Conn* conn_;
  Endpoint endpoint_;
  bool connected_ = false;
  bool failed_ = false;
  FramingLimits framing_{};
  TransportStats stats_;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_TCP_TRANSPORT_H_
