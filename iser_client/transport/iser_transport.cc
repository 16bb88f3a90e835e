#include "iser_client/transport/iser_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/transport/iser_header.h"

namespace isergw::iscsi {
namespace {

constexpr int kResolveTimeoutMs = 2000;
constexpr int kCqBatch = 32;
// After the target disconnects: how long what it sent before may take to
// show up in the CQ.
constexpr absl::Duration kDrainGrace = absl::Milliseconds(500);
constexpr int kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;

absl::Status Tagged(absl::Status status, FailureKind kind) {
  TagFailure(status, kind);
  return status;
}

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

uint32_t Load24(const uint8_t* p) { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }

// LIO's ib_isert proposes TargetRecvDataSegmentLength in its first
// operational Login Response and does not let the login move on (it keeps
// answering T=0, "No response for proposed key") unless the initiator has
// sent the key too, as libiscsi and the kernel initiator do. The session's
// negotiator leaves the key to the target, so the transport adds it (the
// value LIO and RFC 7145 default to) to the first operational Login
// Request that offers RDMAExtensions=Yes. Returns the bytes appended.
uint32_t AddTargetRecvDataSegmentLength(const OutgoingPdu& pdu, uint8_t* bhs, uint8_t* end,
                                        size_t room) {
  static constexpr std::string_view kKey = "TargetRecvDataSegmentLength=";
  static constexpr std::string_view kPair = "TargetRecvDataSegmentLength=8192";
  if ((pdu.bhs[0] & 0x3f) != 0x03 || ((pdu.bhs[1] >> 2) & 0x3) != 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(pdu.data.data()), pdu.data.size());
  if (text.find("RDMAExtensions=Yes") == std::string_view::npos ||
      text.find(kKey) != std::string_view::npos || room < kPair.size() + 1) {
    return 0;
  }
  // Key=value pairs end with a NUL; the data segment length grows by as much.
  memcpy(end, kPair.data(), kPair.size());
  end[kPair.size()] = 0;
  const uint32_t added = static_cast<uint32_t>(kPair.size() + 1);
  const uint32_t dsl = Load24(bhs + 5) + added;
  bhs[5] = static_cast<uint8_t>(dsl >> 16);
  bhs[6] = static_cast<uint8_t>(dsl >> 8);
  bhs[7] = static_cast<uint8_t>(dsl);
  return added;
}

}  // namespace

// The two fd polls and the connect timer, kept apart from the transport: a
// poll cancelled by Close() still completes later, and finds this, not a
// destroyed transport.
struct IserTransport::Conn final : uring::Orphan {
  struct Poll final : uring::Completion {
    Conn* conn = nullptr;
    bool cm = false;
    void OnComplete(int32_t res, uint32_t) override {
      Conn* c = conn;
      --c->inflight;
      if (c->owner == nullptr) {
        if (c->inflight == 0) {
          c->loop->Disown(c);
          delete c;
        }
        return;
      }
      (cm ? c->cm_armed : c->cq_armed) = false;
      if (res == -ECANCELED) return;
      if (cm) {
        c->owner->OnCmReady();
      } else {
        c->owner->OnCqReady();
      }
    }
  };
  struct ConnectTimer final : uring::Timer {
    IserTransport* owner = nullptr;
    void OnTimer() override { owner->OnConnectTimeout(); }
  };

  IserTransport* owner = nullptr;
  uring::EventLoop* loop = nullptr;
  int inflight = 0;
  Poll cm_poll, cq_poll;
  bool cm_armed = false;
  bool cq_armed = false;
  ConnectTimer connect_timer;
};

IserTransport::IserTransport(uring::EventLoop* loop, TransportListener* listener)
    : loop_(loop), listener_(listener), conn_(new Conn) {
  conn_->owner = this;
  conn_->loop = loop;
  conn_->cm_poll.conn = conn_;
  conn_->cm_poll.cm = true;
  conn_->cq_poll.conn = conn_;
  conn_->connect_timer.owner = this;
  loop_->AddPassHook(this);
}

IserTransport::~IserTransport() {
  Close();
  loop_->RemovePassHook(this);
  conn_->owner = nullptr;
  if (conn_->inflight == 0) {
    delete conn_;
  } else {
    loop_->Adopt(conn_);  // freed by its last cancelled poll, or with the loop
  }
}

std::string IserTransport::DescribePeer() const {
  return absl::StrCat("iser://", endpoint_.host, ":", endpoint_.port);
}

void IserTransport::Connect(const Endpoint& endpoint, absl::Duration timeout) {
  endpoint_ = endpoint;
  auto fail = [this](absl::Status status) {
    ReleaseResources();
    state_ = State::kClosed;
    listener_->OnConnected(std::move(status));
  };
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  std::string port = std::to_string(endpoint.port);
  int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0 || result == nullptr) {
    return fail(Tagged(absl::NotFoundError(absl::StrCat("cannot resolve host '", endpoint.host,
                                                        "': ", gai_strerror(rc))),
                       FailureKind::kNoRoute));
  }
  memcpy(&address_, result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);

  cm_channel_ = rdma_create_event_channel();
  if (cm_channel_ == nullptr) {
    int err = errno;
    return fail(
        Tagged(absl::UnavailableError(absl::StrCat(
                   "no RDMA device: cannot open the RDMA connection manager (", strerror(err),
                   "); iser:// needs an RDMA NIC or Soft-RoCE (rdma link add ... type rxe)")),
               FailureKind::kTransport));
  }
  if (!SetNonBlocking(cm_channel_->fd) ||
      rdma_create_id(cm_channel_, &cm_id_, this, RDMA_PS_TCP) != 0) {
    int err = errno;
    return fail(
        Tagged(absl::UnavailableError(absl::StrCat("cannot create an RDMA CM id: ", strerror(err))),
               FailureKind::kTransport));
  }
  if (rdma_resolve_addr(cm_id_, nullptr, reinterpret_cast<sockaddr*>(&address_),
                        kResolveTimeoutMs) != 0) {
    int err = errno;
    return fail(Tagged(
        absl::UnavailableError(absl::StrCat("no RDMA route to ", endpoint.host, ": ", strerror(err),
                                            " (is there an RDMA device on the way to it?)")),
        FailureKind::kNoRoute));
  }
  state_ = State::kResolvingAddress;
  ArmPoll(true);
  loop_->ArmTimer(&conn_->connect_timer, timeout);
}

void IserTransport::ArmPoll(bool cm) {
  bool& armed = cm ? conn_->cm_armed : conn_->cq_armed;
  if (armed || state_ == State::kClosed) return;
  int fd = cm ? cm_channel_->fd : cq_channel_->fd;
  io_uring_sqe* sqe = loop_->GetSqe(cm ? &conn_->cm_poll : &conn_->cq_poll);
  io_uring_prep_poll_add(sqe, fd, POLLIN);
  armed = true;
  ++conn_->inflight;
}

void IserTransport::OnConnectTimeout() {
  if (state_ == State::kDraining) return Fail(TargetClosed());
  if (state_ == State::kConnected || state_ == State::kClosed) return;
  Fail(Tagged(absl::DeadlineExceededError(absl::StrCat("iSER connect to ", endpoint_.host, ":",
                                                       endpoint_.port, " timed out")),
              FailureKind::kTimedOut));
}

void IserTransport::OnCmReady() {
  rdma_cm_event* event = nullptr;
  while (state_ != State::kClosed && rdma_get_cm_event(cm_channel_, &event) == 0) {
    rdma_cm_event copy = *event;
    rdma_ack_cm_event(event);  // before handling: rdma_destroy_id waits for acks
    HandleCmEvent(copy);
  }
  ArmPoll(true);
}

absl::Status IserTransport::TargetClosed() const {
  if (!full_feature_) {
    // LIO refuses a login (a wrong CHAP secret, an unknown initiator) by
    // sending a reject and disconnecting at once; over iSER the disconnect
    // often flushes the reject before it leaves the target.
    return Tagged(absl::UnavailableError(absl::StrCat(
                      "target ", endpoint_.host, ":", endpoint_.port,
                      " closed the iSER connection during login (a refused login: wrong CHAP "
                      "credentials or an initiator the target does not allow?)")),
                  FailureKind::kLoginFailed);
  }
  return Tagged(absl::UnavailableError(absl::StrCat("target ", endpoint_.host, ":", endpoint_.port,
                                                    " closed the iSER connection")),
                FailureKind::kTransport);
}

void IserTransport::HandleCmEvent(const rdma_cm_event& event) {
  const std::string where = absl::StrCat(endpoint_.host, ":", endpoint_.port);
  switch (event.event) {
    case RDMA_CM_EVENT_ADDR_RESOLVED:
      if (state_ != State::kResolvingAddress) break;
      if (rdma_resolve_route(cm_id_, kResolveTimeoutMs) != 0) {
        int err = errno;
        return Fail(Tagged(absl::UnavailableError(absl::StrCat("cannot resolve an RDMA route to ",
                                                               where, ": ", strerror(err))),
                           FailureKind::kNoRoute));
      }
      state_ = State::kResolvingRoute;
      return;
    case RDMA_CM_EVENT_ROUTE_RESOLVED: {
      if (state_ != State::kResolvingRoute) break;
      if (absl::Status made = CreateQueuePair(); !made.ok()) return Fail(std::move(made));
      uint8_t private_data[kIserCmPrivateDataSize];
      EncodeIserCmPrivateData(
          kIserCmZeroBasedVaNotSupported | kIserCmSendWithInvalidateNotSupported,
          std::span<uint8_t, kIserCmPrivateDataSize>(private_data));
      ibv_device_attr attr{};
      ibv_query_device(cm_id_->verbs, &attr);
      rdma_conn_param param{};
      param.private_data = private_data;
      param.private_data_len = sizeof(private_data);
      // The target RDMA-Reads write data from us: let it keep several reads
      // outstanding. We issue no RDMA Reads ourselves.
      param.responder_resources = static_cast<uint8_t>(std::clamp(attr.max_qp_rd_atom, 1, 255));
      param.initiator_depth = 1;
      param.retry_count = 7;
      param.rnr_retry_count = 6;
      if (rdma_connect(cm_id_, &param) != 0) {
        int err = errno;
        return Fail(Tagged(absl::UnavailableError(
                               absl::StrCat("RDMA connect to ", where, " failed: ", strerror(err))),
                           FailureKind::kTransport));
      }
      state_ = State::kConnecting;
      return;
    }
    case RDMA_CM_EVENT_ESTABLISHED:
      if (state_ != State::kConnecting) break;
      state_ = State::kConnected;
      loop_->CancelTimer(&conn_->connect_timer);
      listener_->OnConnected(absl::OkStatus());
      return;
    case RDMA_CM_EVENT_ADDR_ERROR:
    case RDMA_CM_EVENT_ROUTE_ERROR:
      return Fail(Tagged(
          absl::UnavailableError(absl::StrCat(
              "no RDMA route to ", where, " (", rdma_event_str(event.event), ", status ",
              event.status, "): is there an RDMA device (RoCE, iWARP, rxe) on the way to it?")),
          FailureKind::kNoRoute));
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
      return Fail(Tagged(
          absl::UnavailableError(absl::StrCat("target ", where, " refused the iSER connection (",
                                              rdma_event_str(event.event), ", status ",
                                              event.status, "): is iSER enabled on that portal?")),
          FailureKind::kConnectionRefused));
    case RDMA_CM_EVENT_CONNECT_ERROR:
      return Fail(Tagged(absl::UnavailableError(absl::StrCat(
                             "iSER connection to ", where, " failed (status ", event.status, ")")),
                         FailureKind::kTransport));
    case RDMA_CM_EVENT_DISCONNECTED:
      if (state_ != State::kConnected) break;
      // What the target sent before it disconnected (LIO's login reject)
      // may still be on its way into the CQ, behind this event: keep
      // receiving for a short grace period, or until a flush says nothing
      // more comes. (Disconnecting our side now would flush our receives
      // before the target's last Send lands.)
      state_ = State::kDraining;
      loop_->ArmTimer(&conn_->connect_timer, kDrainGrace);
      DrainCompletions();
      return;
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
      return Fail(Tagged(absl::UnavailableError(absl::StrCat(
                             "the RDMA device of the connection to ", where, " went away")),
                         FailureKind::kTransport));
    default:
      return;  // TIMEWAIT_EXIT, ADDR_CHANGE...: nothing to do
  }
  // An event that does not fit the state (a late resolve after a failure).
}

absl::Status IserTransport::CreateQueuePair() {
  auto error = [](const char* what) {
    int err = errno;
    return Tagged(absl::ResourceExhaustedError(absl::StrCat(what, ": ", strerror(err))),
                  FailureKind::kTransport);
  };
  ibv_context* verbs = cm_id_->verbs;
  pd_ = ibv_alloc_pd(verbs);
  if (pd_ == nullptr) return error("cannot allocate an RDMA protection domain");
  registrations_ = std::make_unique<RegistrationCache>(pd_, kAccess);
  cq_channel_ = ibv_create_comp_channel(verbs);
  if (cq_channel_ == nullptr || !SetNonBlocking(cq_channel_->fd)) {
    return error("cannot create an RDMA completion channel");
  }
  const int cqes = static_cast<int>(layout_.send_slots + layout_.recv_slots);
  cq_ = ibv_create_cq(verbs, cqes, nullptr, cq_channel_, 0);
  if (cq_ == nullptr) return error("cannot create an RDMA completion queue");
  if (ibv_req_notify_cq(cq_, 0) != 0) return error("cannot arm the RDMA completion queue");

  ibv_qp_init_attr qp{};
  qp.send_cq = cq_;
  qp.recv_cq = cq_;
  qp.qp_type = IBV_QPT_RC;
  qp.cap.max_send_wr = layout_.send_slots;
  qp.cap.max_recv_wr = layout_.recv_slots;
  qp.cap.max_send_sge = 2;
  qp.cap.max_recv_sge = 1;
  if (rdma_create_qp(cm_id_, pd_, &qp) != 0) return error("cannot create an RDMA queue pair");
  qp_created_ = true;

  // Every PDU buffer in one mapping and one registration, made once here.
  void* pool = mmap(nullptr, layout_.total_bytes(), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pool == MAP_FAILED) return error("cannot map the iSER PDU buffers");
  pool_ = static_cast<uint8_t*>(pool);
  auto mr = registrations_->Register(pool_, layout_.total_bytes());
  if (!mr.ok()) return Tagged(mr.status(), FailureKind::kTransport);
  pool_mr_ = *mr;
  iser_stats_.memory_registrations = registrations_->registrations();

  send_slots_.assign(layout_.send_slots, SendSlot{});
  free_send_slots_.clear();
  free_send_slots_.reserve(layout_.send_slots);
  for (uint32_t i = layout_.send_slots; i-- > 0;) free_send_slots_.push_back(i);
  recv_slots_.assign(layout_.recv_slots, RecvSlot{});
  for (uint32_t i = 0; i < layout_.recv_slots; ++i) {
    RecvSlot& r = recv_slots_[i];
    r.sge = {reinterpret_cast<uint64_t>(pool_ + layout_.recv_offset(i)), layout_.slot_bytes,
             pool_mr_->lkey};
    r.wr.wr_id = MakeWrId(WorkKind::kRecv, i);
    r.wr.sg_list = &r.sge;
    r.wr.num_sge = 1;
    QueueRecv(i);
  }
  ibv_recv_wr* bad = nullptr;
  if (ibv_post_recv(cm_id_->qp, recv_head_, &bad) != 0) return error("cannot post RDMA receives");
  recv_head_ = recv_tail_ = nullptr;
  ArmPoll(false);
  return absl::OkStatus();
}

void IserTransport::QueueRecv(uint32_t slot) {
  ibv_recv_wr* wr = &recv_slots_[slot].wr;
  wr->next = nullptr;
  if (recv_tail_ == nullptr) {
    recv_head_ = wr;
  } else {
    recv_tail_->next = wr;
  }
  recv_tail_ = wr;
}

void IserTransport::OnCqReady() {
  if (state_ == State::kClosed) return;
  ibv_cq* event_cq = nullptr;
  void* context = nullptr;
  unsigned events = 0;
  while (ibv_get_cq_event(cq_channel_, &event_cq, &context) == 0) ++events;
  if (events > 0) {
    ibv_ack_cq_events(cq_, events);
    iser_stats_.cq_events += events;
  }
  // Re-arm before draining, so a completion that lands after the drain
  // still raises an event.
  if (ibv_req_notify_cq(cq_, 0) != 0) {
    return Fail(absl::UnavailableError("cannot re-arm the RDMA completion queue"));
  }
  DrainCompletions();
  if (state_ == State::kClosed) return;
  ArmPoll(false);
}

void IserTransport::DrainCompletions() {
  ibv_wc wcs[kCqBatch];
  int n;
  while (state_ != State::kClosed && (n = ibv_poll_cq(cq_, kCqBatch, wcs)) > 0) {
    for (int i = 0; i < n && state_ != State::kClosed; ++i) HandleCompletion(wcs[i]);
  }
  if (state_ == State::kClosed) return;
  if (n < 0) return Fail(absl::UnavailableError("polling the RDMA completion queue failed"));
  if (recv_head_ != nullptr) {
    ibv_recv_wr* bad = nullptr;
    if (ibv_post_recv(cm_id_->qp, recv_head_, &bad) != 0) {
      return Fail(absl::UnavailableError("cannot re-post RDMA receives"));
    }
    recv_head_ = recv_tail_ = nullptr;
  }
}

void IserTransport::HandleCompletion(const ibv_wc& wc) {
  const WorkKind kind = WrIdKind(wc.wr_id);
  const uint32_t slot = WrIdSlot(wc.wr_id);
  if (wc.status != IBV_WC_SUCCESS) {
    if (state_ == State::kDraining) return Fail(TargetClosed());  // the flush: nothing more came
    if (wc.status == IBV_WC_LOC_LEN_ERR && kind == WorkKind::kRecv) {
      return Fail(Tagged(absl::DataLossError(absl::StrCat(
                             "target sent an iSER message larger than the ", layout_.slot_bytes,
                             "-byte receive buffers (declare InitiatorRecvDataSegmentLength <= ",
                             SlotLayout::kDataBytes, ")")),
                         FailureKind::kProtocol));
    }
    // A flush (the QP went to error: link down, target gone) or a real
    // error: either way the connection is dead.
    return Fail(Tagged(absl::UnavailableError(absl::StrFormat(
                           "iSER connection to %s:%u lost: %s on a %s (vendor error 0x%x)",
                           endpoint_.host, endpoint_.port, ibv_wc_status_str(wc.status),
                           kind == WorkKind::kRecv ? "receive" : "send", wc.vendor_err)),
                       FailureKind::kTransport));
  }
  if (kind == WorkKind::kSend && slot < send_slots_.size()) {
    ++iser_stats_.send_completions;
    free_send_slots_.push_back(slot);
  } else if (kind == WorkKind::kRecv && slot < recv_slots_.size()) {
    ++iser_stats_.recv_completions;
    HandleReceive(slot, wc.byte_len);
  }
}

void IserTransport::HandleReceive(uint32_t slot, uint32_t bytes) {
  auto protocol = [this](std::string what) {
    Fail(Tagged(absl::DataLossError(absl::StrCat("malformed iSER message from target: ", what)),
                FailureKind::kProtocol));
  };
  if (bytes > layout_.slot_bytes) return protocol("longer than the receive buffer");
  std::span<const uint8_t> message(pool_ + layout_.recv_offset(slot), bytes);
  auto header = DecodeIserHeader(message);
  if (!header.ok()) return protocol(std::string(header.status().message()));
  std::span<const uint8_t> pdu = message.subspan(kIserHeaderSize);
  if (pdu.size() < kBhsSize) {
    return protocol(absl::StrFormat("%u bytes after the iSER header, less than a BHS", pdu.size()));
  }
  const size_t ahs = size_t{pdu[4]} * 4;
  const size_t data = Load24(pdu.data() + 5);
  if (kBhsSize + ahs + data > pdu.size()) {
    return protocol(absl::StrFormat(
        "BHS announces %u AHS and %u data bytes, the message holds %u after the BHS", ahs, data,
        pdu.size() - kBhsSize));
  }
  ++stats_.pdus_received;
  stats_.bytes_received += bytes;
  listener_->OnPdu(IncomingPdu{pdu.first(kBhsSize), pdu.subspan(kBhsSize, ahs),
                               pdu.subspan(kBhsSize + ahs, data)});
  if (state_ != State::kClosed) QueueRecv(slot);  // the buffer is free again
}

void IserTransport::Send(const OutgoingPdu& pdu) {
  if (state_ != State::kConnected) return;
  if (free_send_slots_.empty()) {
    return Fail(Tagged(absl::ResourceExhaustedError(absl::StrCat("more than ", layout_.send_slots,
                                                                 " iSER sends outstanding")),
                       FailureKind::kTransport));
  }
  if (pdu.bhs.size() > kBhsSize + kMaxAhsBytes) {
    return Fail(absl::InvalidArgumentError("outgoing BHS+AHS too large"));
  }
  IserHeader header;
  ibv_mr* command_mr = nullptr;
  if (const CommandBuffer* cmd = pdu.command; cmd != nullptr && cmd->length > 0) {
    auto mr = registrations_->Find(cmd->base, cmd->length);
    iser_stats_.memory_registrations = registrations_->registrations();
    if (!mr.ok()) return Fail(Tagged(mr.status(), FailureKind::kTransport));
    command_mr = *mr;
    if (cmd->read) {
      header.flags |= kIserReadValid;
      header.read_stag = command_mr->rkey;
      header.read_va = reinterpret_cast<uint64_t>(cmd->base);
    }
    if (cmd->write && cmd->length > cmd->immediate) {
      header.flags |= kIserWriteValid;
      header.write_stag = command_mr->rkey;
      header.write_va = IserWriteVa(cmd->base, cmd->immediate);
    }
  }
  const uint32_t index = free_send_slots_.back();
  free_send_slots_.pop_back();
  SendSlot& slot = send_slots_[index];
  uint8_t* buffer = pool_ + layout_.send_offset(index);
  EncodeIserHeader(header, std::span<uint8_t, kIserHeaderSize>(buffer, kIserHeaderSize));
  memcpy(buffer + kIserHeaderSize, pdu.bhs.data(), pdu.bhs.size());
  uint32_t length = static_cast<uint32_t>(kIserHeaderSize + pdu.bhs.size());
  slot.wr = ibv_send_wr{};
  slot.wr.num_sge = 1;
  if (!pdu.data.empty()) {
    const uint8_t* data = pdu.data.data();
    const CommandBuffer* cmd = pdu.command;
    if (command_mr != nullptr && data >= cmd->base &&
        data + pdu.data.size() <= cmd->base + cmd->length) {
      // Immediate data straight from the command's registered buffer.
      slot.sge[1] = {reinterpret_cast<uint64_t>(data), static_cast<uint32_t>(pdu.data.size()),
                     command_mr->lkey};
      slot.wr.num_sge = 2;
    } else if (pdu.data.size() <= layout_.slot_bytes - length) {
      memcpy(buffer + length, data, pdu.data.size());  // login and text: small
      length += static_cast<uint32_t>(pdu.data.size());
      length += AddTargetRecvDataSegmentLength(pdu, buffer + kIserHeaderSize, buffer + length,
                                               layout_.slot_bytes - length);
    } else {
      free_send_slots_.push_back(index);
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("a ", pdu.data.size(), "-byte data segment outside any command buffer")));
    }
  }
  slot.sge[0] = {reinterpret_cast<uint64_t>(buffer), length, pool_mr_->lkey};
  slot.wr.wr_id = MakeWrId(WorkKind::kSend, index);
  slot.wr.sg_list = slot.sge;
  slot.wr.opcode = IBV_WR_SEND;
  slot.wr.send_flags = IBV_SEND_SIGNALED;  // completions free the slot
  if (send_tail_ == nullptr) {
    send_head_ = &slot.wr;
  } else {
    send_tail_->next = &slot.wr;
  }
  send_tail_ = &slot.wr;
  ++stats_.pdus_sent;
  stats_.bytes_sent += length + (slot.wr.num_sge == 2 ? slot.sge[1].length : 0);
}

void IserTransport::BeforeSubmit() {
  if (send_head_ == nullptr || state_ != State::kConnected) return;
  ibv_send_wr* bad = nullptr;
  int rc = ibv_post_send(cm_id_->qp, send_head_, &bad);
  send_head_ = send_tail_ = nullptr;
  ++stats_.doorbells;
  if (rc != 0) {
    Fail(Tagged(absl::UnavailableError(absl::StrCat("posting iSER sends failed: ", strerror(rc))),
                FailureKind::kTransport));
  }
}

void IserTransport::EnterFullFeaturePhase(const FullFeatureLimits& /*limits*/) {
  full_feature_ = true;
  // Digests do not exist over iSER (RFC 7145 forces None). The target may
  // send data segments up to the InitiatorRecvDataSegmentLength we declared;
  // a receive slot holds SlotLayout::kDataBytes, which Initiator::Login
  // declares. A caller that declares more still works with targets that send
  // less (LIO's Sends carry at most 8 KiB); a larger Send fails the
  // connection with a local length error, named in HandleCompletion().
}

void IserTransport::Fail(absl::Status status) {
  if (state_ == State::kClosed) return;
  const bool was_connected = state_ == State::kConnected || state_ == State::kDraining;
  if (GetFailureKind(status) == FailureKind::kNone) TagFailure(status, FailureKind::kTransport);
  Close();
  if (was_connected) {
    listener_->OnTransportError(std::move(status));
  } else {
    listener_->OnConnected(std::move(status));
  }
}

void IserTransport::Close() {
  if (state_ == State::kClosed) return;
  if ((state_ == State::kConnected || state_ == State::kDraining) && cm_id_ != nullptr) {
    rdma_disconnect(cm_id_);
  }
  state_ = State::kClosed;
  ReleaseResources();
}

void IserTransport::ReleaseResources() {
  loop_->CancelTimer(&conn_->connect_timer);
  for (Conn::Poll* poll : {&conn_->cm_poll, &conn_->cq_poll}) {
    bool armed = poll->cm ? conn_->cm_armed : conn_->cq_armed;
    if (armed) {
      io_uring_prep_poll_remove(loop_->GetSqe(nullptr), reinterpret_cast<uint64_t>(poll));
    }
  }
  send_head_ = send_tail_ = nullptr;
  recv_head_ = recv_tail_ = nullptr;
  // io_uring's polls hold their own file references: closing the fds under
  // them is safe, the cancelled polls complete later into Conn.
  if (qp_created_) {
    rdma_destroy_qp(cm_id_);
    qp_created_ = false;
  }
  if (registrations_ != nullptr) {
    iser_stats_.memory_registrations = registrations_->registrations();
    registrations_.reset();  // deregisters the pool and every command region
  }
  pool_mr_ = nullptr;
  if (pool_ != nullptr) {
    munmap(pool_, layout_.total_bytes());
    pool_ = nullptr;
  }
  if (cq_ != nullptr) {
    ibv_destroy_cq(cq_);  // every event was acked in OnCqReady()
    cq_ = nullptr;
  }
  if (cq_channel_ != nullptr) {
    ibv_destroy_comp_channel(cq_channel_);
    cq_channel_ = nullptr;
  }
  if (pd_ != nullptr) {
    ibv_dealloc_pd(pd_);
    pd_ = nullptr;
  }
  if (cm_id_ != nullptr) {
    rdma_destroy_id(cm_id_);
    cm_id_ = nullptr;
  }
  if (cm_channel_ != nullptr) {
    rdma_destroy_event_channel(cm_channel_);
    cm_channel_ = nullptr;
  }
}

}  // namespace isergw::iscsi
