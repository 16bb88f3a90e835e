#include "iser_client/transport/tcp_transport.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/pdu/digest.h"
#include "iser_client/pdu/opcodes.h"
#include "iser_client/pdu/padding.h"
#include "iser_client/transport/interface_address.h"

namespace isergw::iscsi {
namespace {

// Enough for many 4 KiB PDUs per recv; grown to hold the largest PDU the
// negotiated limits allow.
constexpr size_t kInitialRxBytes = 256 * 1024;
// The kernel's UIO_MAXIOV: sendmsg refuses more iovecs.
constexpr size_t kMaxIovPerSend = 1024;

absl::Status ConnectError(int err, const Endpoint& ep) {
  absl::Status status = absl::UnavailableError(
      absl::StrCat("cannot connect to ", ep.host, ":", ep.port, ": ", strerror(err)));
  FailureKind kind = FailureKind::kTransport;
  if (err == ECONNREFUSED) kind = FailureKind::kConnectionRefused;
  if (err == ENETUNREACH || err == EHOSTUNREACH || err == EADDRNOTAVAIL) {
    kind = FailureKind::kNoRoute;
  }
  if (err == ETIMEDOUT) kind = FailureKind::kTimedOut;
  TagFailure(status, kind);
  return status;
}

}  // namespace

const char* TransportKindName(TransportKind kind) {
  return kind == TransportKind::kIser ? "iser" : "tcp";
}

struct TcpTransport::Conn final : uring::Orphan {
  struct Op final : uring::Completion {
    enum class Kind : uint8_t { kConnect, kRecv, kSend };
    Conn* conn = nullptr;
    Kind kind = Kind::kConnect;
    void OnComplete(int32_t res, uint32_t) override {
      Conn* c = conn;
      // This request stays counted while its handler runs: a listener that
      // destroys the transport from the callback leaves `c` adopted by the
      // loop, alive until the count drops here.
      if (TcpTransport* owner = c->owner; owner != nullptr) {
        switch (kind) {
          case Kind::kConnect:
            owner->OnConnectDone(res);
            break;
          case Kind::kRecv:
            owner->OnRecvDone(res);
            break;
          case Kind::kSend:
            owner->OnSendDone(res);
            break;
        }
      }
      --c->inflight;
      if (c->owner == nullptr && c->inflight == 0) {
        c->loop->Disown(c);
        delete c;
      }
    }
  };
  struct ConnectTimer final : uring::Timer {
    TcpTransport* owner = nullptr;
    void OnTimer() override { owner->OnConnectTimeout(); }
  };
  struct Slot {
    uint8_t header[kBhsSize + kDigestSize];
    uint8_t trailer[3 + kDigestSize];
    uint8_t header_length;
    uint8_t trailer_length;
  };
  struct Segment {
    const uint8_t* data;  // nullptr: the header or trailer of `slot`
    uint32_t length;
    uint32_t slot;
    bool trailer;
  };

  TcpTransport* owner;
  uring::EventLoop* loop;
  int fd = -1;
  int inflight = 0;
  Op connect_op, recv_op, send_op;
  ConnectTimer connect_timer;
  bool connect_timed_out = false;
  sockaddr_storage addr{};
  socklen_t addr_length = 0;

  std::vector<uint8_t> rx;
  size_t rx_head = 0;
  size_t rx_tail = 0;
  size_t rx_limit = kInitialRxBytes;
  bool recv_posted = false;

  std::vector<Slot> tx_slots, sending_slots;
  std::vector<Segment> tx_segments, sending_segments;
  std::vector<iovec> iov;
  size_t iov_done = 0;
  msghdr msg{};
  bool send_posted = false;
};

TcpTransport::TcpTransport(uring::EventLoop* loop, TransportListener* listener)
    : loop_(loop), listener_(listener), conn_(new Conn) {
  conn_->owner = this;
  conn_->loop = loop;
  conn_->connect_op.conn = conn_;
  conn_->connect_op.kind = Conn::Op::Kind::kConnect;
  conn_->recv_op.conn = conn_;
  conn_->recv_op.kind = Conn::Op::Kind::kRecv;
  conn_->send_op.conn = conn_;
  conn_->send_op.kind = Conn::Op::Kind::kSend;
  conn_->connect_timer.owner = this;
  conn_->rx.resize(kInitialRxBytes);
  conn_->tx_slots.reserve(256);
  conn_->tx_segments.reserve(768);
  conn_->sending_slots.reserve(256);
  conn_->sending_segments.reserve(768);
  conn_->iov.reserve(768);
  loop_->AddPassHook(this);
}

TcpTransport::~TcpTransport() {
  Close();
  loop_->RemovePassHook(this);
  conn_->owner = nullptr;
  if (conn_->inflight == 0) {
    delete conn_;
  } else {
    loop_->Adopt(conn_);  // freed by its last completion, or with the loop
  }
}

std::string TcpTransport::DescribePeer() const {
  return absl::StrCat("tcp://", endpoint_.host, ":", endpoint_.port);
}

void TcpTransport::Connect(const Endpoint& endpoint, absl::Duration timeout) {
  endpoint_ = endpoint;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    absl::Status status = absl::NotFoundError(
        absl::StrCat("cannot resolve host '", endpoint.host, "': ", gai_strerror(rc)));
    TagFailure(status, FailureKind::kNoRoute);
    failed_ = true;
    listener_->OnConnected(status);
    return;
  }
  memcpy(&conn_->addr, result->ai_addr, result->ai_addrlen);
  conn_->addr_length = result->ai_addrlen;
  int family = result->ai_family;
  freeaddrinfo(result);

  conn_->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn_->fd < 0) {
    failed_ = true;
    listener_->OnConnected(ConnectError(errno, endpoint_));
    return;
  }
  if (!endpoint.iface.empty()) {
    if (absl::Status bound = BindToInterface(conn_->fd, endpoint.iface); !bound.ok()) {
      failed_ = true;
      listener_->OnConnected(bound);
      return;
    }
  }
  int one = 1;
  setsockopt(conn_->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  io_uring_sqe* sqe = loop_->GetSqe(&conn_->connect_op);
  io_uring_prep_connect(sqe, conn_->fd, reinterpret_cast<sockaddr*>(&conn_->addr),
                        conn_->addr_length);
  ++conn_->inflight;
  loop_->ArmTimer(&conn_->connect_timer, timeout);
}

void TcpTransport::OnConnectTimeout() {
  conn_->connect_timed_out = true;
  io_uring_prep_cancel64(loop_->GetSqe(nullptr), reinterpret_cast<uint64_t>(&conn_->connect_op), 0);
}

void TcpTransport::OnConnectDone(int res) {
  loop_->CancelTimer(&conn_->connect_timer);
  if (failed_) return;
  if (res < 0) {
    failed_ = true;
    absl::Status status;
    if (conn_->connect_timed_out) {
      status = absl::DeadlineExceededError(
          absl::StrCat("connect to ", endpoint_.host, ":", endpoint_.port, " timed out"));
      TagFailure(status, FailureKind::kTimedOut);
    } else {
      status = ConnectError(-res, endpoint_);
    }
    listener_->OnConnected(status);
    return;
  }
  connected_ = true;
  PostRecv();
  listener_->OnConnected(absl::OkStatus());
}

void TcpTransport::EnterFullFeaturePhase(const FullFeatureLimits& limits) {
  framing_.header_digest = limits.header_digest;
  framing_.data_digest = limits.data_digest;
  framing_.max_recv_data_segment_length = limits.max_recv_data_segment_length;
  // The largest PDU: BHS, the largest AHS, the data segment padded, digests.
  conn_->rx_limit = std::max(kInitialRxBytes, 2 * (kBhsSize + kMaxAhsBytes + 2 * kDigestSize + 3 +
                                                   size_t{limits.max_recv_data_segment_length}));
}

void TcpTransport::PostRecv() {
  Conn& c = *conn_;
  if (c.recv_posted || failed_) return;
  if (c.rx_head == c.rx_tail) {
    c.rx_head = c.rx_tail = 0;
  } else if (c.rx_tail == c.rx.size() && c.rx_head > 0) {
    memmove(c.rx.data(), c.rx.data() + c.rx_head, c.rx_tail - c.rx_head);
    c.rx_tail -= c.rx_head;
    c.rx_head = 0;
  }
  if (c.rx_tail == c.rx.size()) {
    // One PDU larger than the buffer: grow, up to what the limits allow
    // (the framer has already refused anything larger).
    if (c.rx.size() >= c.rx_limit) {
      Fail(absl::DataLossError("target sent a PDU larger than the negotiated limits"));
      return;
    }
    c.rx.resize(std::min(c.rx.size() * 2, c.rx_limit));
  }
  io_uring_sqe* sqe = loop_->GetSqe(&c.recv_op);
  io_uring_prep_recv(sqe, c.fd, c.rx.data() + c.rx_tail, c.rx.size() - c.rx_tail, 0);
  ++c.inflight;
  c.recv_posted = true;
}

void TcpTransport::OnRecvDone(int res) {
  Conn& c = *conn_;
  c.recv_posted = false;
  if (failed_) return;
  if (res <= 0) {
    Fail(res == 0
             ? absl::UnavailableError(absl::StrCat("target ", endpoint_.host, ":", endpoint_.port,
                                                   " closed the connection"))
             : absl::UnavailableError(absl::StrCat("connection to ", endpoint_.host, ":",
                                                   endpoint_.port, " failed: ", strerror(-res))));
    return;
  }
  c.rx_tail += static_cast<size_t>(res);
  stats_.bytes_received += static_cast<uint64_t>(res);
  while (!failed_ && c.rx_head < c.rx_tail) {
    auto framed = TryFrame(std::span<const uint8_t>(c.rx.data() + c.rx_head, c.rx_tail - c.rx_head),
                           framing_);
    if (!framed.ok()) {
      absl::Status status = absl::DataLossError(
          absl::StrCat("malformed PDU from target: ", framed.status().message()));
      TagFailure(status, FailureKind::kProtocol);
      Fail(status);
      return;
    }
    if (!framed->has_value()) break;
    const PduView& view = **framed;
    c.rx_head += view.wire_length;
    ++stats_.pdus_received;
    listener_->OnPdu(IncomingPdu{view.bhs, view.ahs, view.data});
    if (c.owner == nullptr) return;  // the listener destroyed this transport
  }
  PostRecv();
}

void TcpTransport::Send(const OutgoingPdu& pdu) {
  if (failed_) return;
  Conn& c = *conn_;
  uint32_t slot_index = static_cast<uint32_t>(c.tx_slots.size());
  Conn::Slot& slot = c.tx_slots.emplace_back();
  memcpy(slot.header, pdu.bhs.data(), kBhsSize);
  slot.header_length = kBhsSize;
  if (framing_.header_digest) {
    StoreDigest(Crc32c(std::span<const uint8_t>(slot.header, kBhsSize)),
                std::span<uint8_t, kDigestSize>(slot.header + kBhsSize, kDigestSize));
    slot.header_length += kDigestSize;
  }
  c.tx_segments.push_back({nullptr, slot.header_length, slot_index, false});
  slot.trailer_length = 0;
  if (!pdu.data.empty()) {
    c.tx_segments.push_back({pdu.data.data(), static_cast<uint32_t>(pdu.data.size()), 0, false});
    size_t pad = PadLength(pdu.data.size());
    memset(slot.trailer, 0, pad);
    slot.trailer_length = static_cast<uint8_t>(pad);
    if (framing_.data_digest) {
      StoreDigest(DataDigest(pdu.data),
                  std::span<uint8_t, kDigestSize>(slot.trailer + pad, kDigestSize));
      slot.trailer_length += kDigestSize;
    }
    if (slot.trailer_length > 0) {
      c.tx_segments.push_back({nullptr, slot.trailer_length, slot_index, true});
    }
  }
  ++stats_.pdus_sent;
  stats_.bytes_sent += slot.header_length + pdu.data.size() + slot.trailer_length;
}

void TcpTransport::BeforeSubmit() {
  Conn& c = *conn_;
  if (c.send_posted || c.tx_segments.empty() || !connected_ || failed_) return;
  std::swap(c.tx_slots, c.sending_slots);
  std::swap(c.tx_segments, c.sending_segments);
  c.tx_slots.clear();
  c.tx_segments.clear();
  c.iov.clear();
  for (const Conn::Segment& s : c.sending_segments) {
    const uint8_t* base = s.data;
    if (base == nullptr) {
      const Conn::Slot& slot = c.sending_slots[s.slot];
      base = s.trailer ? slot.trailer : slot.header;
    }
    c.iov.push_back({const_cast<uint8_t*>(base), s.length});
  }
  c.iov_done = 0;
  OnSendDone(0);  // posts the first sendmsg
}

void TcpTransport::OnSendDone(int res) {
  Conn& c = *conn_;
  c.send_posted = false;
  if (failed_) return;
  if (res < 0) {
    Fail(absl::UnavailableError(absl::StrCat("send to ", endpoint_.host, ":", endpoint_.port,
                                             " failed: ", strerror(-res))));
    return;
  }
  // Skip what was sent, including a partially sent iovec.
  size_t sent = static_cast<size_t>(res);
  while (sent > 0 && c.iov_done < c.iov.size()) {
    iovec& v = c.iov[c.iov_done];
    if (sent >= v.iov_len) {
      sent -= v.iov_len;
      ++c.iov_done;
    } else {
      v.iov_base = static_cast<uint8_t*>(v.iov_base) + sent;
      v.iov_len -= sent;
      sent = 0;
    }
  }
  if (c.iov_done == c.iov.size()) {
    c.sending_slots.clear();
    c.sending_segments.clear();
    c.iov.clear();
    return;  // the pass hook sends what queued up meanwhile
  }
  c.msg = msghdr{};
  c.msg.msg_iov = c.iov.data() + c.iov_done;
  c.msg.msg_iovlen = std::min(kMaxIovPerSend, c.iov.size() - c.iov_done);
  io_uring_sqe* sqe = loop_->GetSqe(&c.send_op);
  io_uring_prep_sendmsg(sqe, c.fd, &c.msg, MSG_NOSIGNAL);
  ++c.inflight;
  c.send_posted = true;
  ++stats_.doorbells;
}

void TcpTransport::Fail(absl::Status status) {
  if (failed_) return;
  if (GetFailureKind(status) == FailureKind::kNone) TagFailure(status, FailureKind::kTransport);
  Close();
  listener_->OnTransportError(std::move(status));
}

void TcpTransport::Close() {
  failed_ = true;
  connected_ = false;
  Conn& c = *conn_;
  loop_->CancelTimer(&c.connect_timer);
  if (c.fd >= 0) {
    // Requests in flight complete (with errors) once the socket is shut down;
    // io_uring holds its own file reference, so closing now is safe.
    shutdown(c.fd, SHUT_RDWR);
    if (c.inflight > 0) {
      for (Conn::Op* op : {&c.connect_op, &c.recv_op, &c.send_op}) {
        io_uring_prep_cancel64(loop_->GetSqe(nullptr), reinterpret_cast<uint64_t>(op), 0);
      }
    }
    close(c.fd);
    c.fd = -1;
  }
}

}  // namespace isergw::iscsi
