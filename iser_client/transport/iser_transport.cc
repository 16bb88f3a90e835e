#include "iser_client/transport/iser_transport.h"

#include <fcntl.h>
#include <glog/logging.h>
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
#include "iser_client/transport/interface_address.h"
#include "iser_client/transport/iser_header.h"

namespace isergw::iscsi {
namespace {

constexpr int kResolveTimeoutMs = 2000;
// Completions taken per ibv_poll_cq call.
constexpr int kCqBatch = 32;
// After the target disconnects: how long what it sent before may take to
// show up in the CQ.
constexpr absl::Duration kDrainGrace = absl::Milliseconds(500);
constexpr int kAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
// Strict mode: registrations grant no remote access of their own; only the
// memory windows bound on them do.
constexpr int kStrictAccess = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND;

absl::Status Tagged(absl::Status status, FailureKind kind) {
  TagFailure(status, kind);
  return status;
}

bool SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

uint32_t Load24(const uint8_t* p) { return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2]; }

uint32_t Load32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

constexpr uint8_t kOpScsiResponse = 0x21;
constexpr uint8_t kOpDataIn = 0x25;
constexpr uint8_t kDataInStatusBit = 0x01;  // S: the Data-In carries the command's status

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

IserTransport::IserTransport(uring::EventLoop* loop, TransportListener* listener,
                             const IserOptions& options)
    : loop_(loop),
      listener_(listener),
      options_(options),
      conn_(new Conn),
      layout_(SlotLayout::ForDataBytes(options.recv_data_bytes)) {
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
  // A path bound to an interface resolves from its address, which picks
  // the RDMA device (and port) behind that netdev.
  sockaddr_storage source{};
  if (!endpoint.iface.empty()) {
    auto local = InterfaceAddress(endpoint.iface, address_.ss_family);
    if (!local.ok()) return fail(local.status());
    source = *local;
  }
  if (rdma_resolve_addr(cm_id_,
                        endpoint.iface.empty() ? nullptr : reinterpret_cast<sockaddr*>(&source),
                        reinterpret_cast<sockaddr*>(&address_), kResolveTimeoutMs) != 0) {
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
    // LIO refuses a login (a wrong CHAP secret, an unknown initiator, a
    // disabled target portal group) by sending a reject and disconnecting at
    // once; over iSER the disconnect often flushes the reject before it
    // leaves the target, so which of them it was is unknown here.
    return Tagged(absl::UnavailableError(absl::StrCat(
                      "target ", endpoint_.host, ":", endpoint_.port,
                      " closed the iSER connection during login (a refused login: the target "
                      "disabled, wrong CHAP credentials or an initiator it does not allow?)")),
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
      if (options_.strict_rdma) {
        if (absl::Status ok = CheckWindowSupport(); !ok.ok()) return Fail(std::move(ok));
      }
      if (absl::Status made = CreateQueuePair(); !made.ok()) return Fail(std::move(made));
      uint8_t private_data[kIserCmPrivateDataSize];
      // Remote invalidation only of strict mode's memory windows: the
      // default mode's rkeys are whole registrations, which must stay valid.
      EncodeIserCmPrivateData(options_.strict_rdma ? kIserCmZeroBasedVaNotSupported
                                                   : kIserCmZeroBasedVaNotSupported |
                                                         kIserCmSendWithInvalidateNotSupported,
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

absl::Status IserTransport::CheckWindowSupport() {
  ibv_device_attr attr{};
  if (ibv_query_device(cm_id_->verbs, &attr) != 0) {
    int err = errno;
    return Tagged(absl::UnavailableError(
                      absl::StrCat("--strict-rdma: cannot query the RDMA device: ", strerror(err))),
                  FailureKind::kTransport);
  }
  const bool type2 = (attr.device_cap_flags &
                      (IBV_DEVICE_MEM_WINDOW_TYPE_2A | IBV_DEVICE_MEM_WINDOW_TYPE_2B)) != 0;
  if (attr.max_mw <= 0 || !type2) {
    return Tagged(
        absl::FailedPreconditionError(absl::StrFormat(
            "--strict-rdma: RDMA device %s has no type 2 memory windows (max_mw %d, "
            "type 2 %s); strict mode needs them (run without --strict-rdma on it)",
            ibv_get_device_name(cm_id_->verbs->device), attr.max_mw, type2 ? "yes" : "no")),
        FailureKind::kTransport);
  }
  return absl::OkStatus();
}

absl::Status IserTransport::CreateQueuePair() {
  auto error = [](const char* what) {
    int err = errno;
    return Tagged(absl::ResourceExhaustedError(absl::StrCat(what, ": ", strerror(err))),
                  FailureKind::kTransport);
  };
  ibv_context* verbs = cm_id_->verbs;
  ibv_device_attr attr{};
  if (ibv_query_device(verbs, &attr) != 0) return error("cannot query the RDMA device");
  pd_ = ibv_alloc_pd(verbs);
  if (pd_ == nullptr) return error("cannot allocate an RDMA protection domain");
  registrations_ =
      std::make_unique<RegistrationCache>(pd_, options_.strict_rdma ? kStrictAccess : kAccess);
  cq_channel_ = ibv_create_comp_channel(verbs);
  if (cq_channel_ == nullptr || !SetNonBlocking(cq_channel_->fd)) {
    return error("cannot create an RDMA completion channel");
  }
  // Strict mode: a bind and an invalidation per window may sit in the send
  // queue beside the Sends; invalidations complete into the CQ.
  const uint32_t windows =
      options_.strict_rdma
          ? std::min<uint32_t>(2 * SlotLayout::kMaxCommands, static_cast<uint32_t>(attr.max_mw))
          : 0;
  const int cqes = static_cast<int>(layout_.send_slots + layout_.recv_slots + 2 * windows);
  cq_ = ibv_create_cq(verbs, cqes, nullptr, cq_channel_, 0);
  if (cq_ == nullptr) return error("cannot create an RDMA completion queue");
  if (!options_.busy_poll && ibv_req_notify_cq(cq_, 0) != 0) {
    return error("cannot arm the RDMA completion queue");
  }

  ibv_qp_init_attr qp{};
  qp.send_cq = cq_;
  qp.recv_cq = cq_;
  qp.qp_type = IBV_QPT_RC;
  qp.cap.max_send_wr = layout_.send_slots + 2 * windows;
  qp.cap.max_recv_wr = layout_.recv_slots;
  qp.cap.max_send_sge = 2;
  qp.cap.max_recv_sge = 1;
  if (rdma_create_qp(cm_id_, pd_, &qp) != 0) return error("cannot create an RDMA queue pair");
  qp_created_ = true;
  if (windows > 0) {
    if (absl::Status made = CreateWindows(windows); !made.ok()) return made;
  }

  // Every PDU buffer in one mapping and one registration, made once here.
  void* pool = mmap(nullptr, layout_.total_bytes(), PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pool == MAP_FAILED) return error("cannot map the iSER PDU buffers");
  pool_ = static_cast<uint8_t*>(pool);
  auto mr = registrations_->Register(pool_, layout_.total_bytes());
  if (!mr.ok()) return Tagged(mr.status(), FailureKind::kTransport);
  pool_mr_ = *mr;
  stats_.mr_registrations = registrations_->registrations();

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
  if (!options_.busy_poll) ArmPoll(false);
  return absl::OkStatus();
}

absl::Status IserTransport::CreateWindows(uint32_t count) {
  std::vector<uint32_t> rkeys;
  rkeys.reserve(count);
  mws_.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ibv_mw* mw = ibv_alloc_mw(pd_, IBV_MW_TYPE_2);
    if (mw == nullptr) {
      int err = errno;
      return Tagged(absl::ResourceExhaustedError(absl::StrFormat(
                        "--strict-rdma: cannot allocate type 2 memory window %u of %u: %s", i + 1,
                        count, strerror(err))),
                    FailureKind::kTransport);
    }
    mws_.push_back(mw);
    rkeys.push_back(mw->rkey);
  }
  windows_ = std::make_unique<WindowTable>(rkeys);
  window_wrs_.assign(count, WindowWrs{});
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
  // In batches: one ibv_poll_cq takes up to kCqBatch completions; the
  // receives they free are re-posted together, as one chained list.
  ibv_wc wcs[kCqBatch];
  int n = 0;
  while (state_ != State::kClosed) {
    n = ibv_poll_cq(cq_, kCqBatch, wcs);
    ++iser_stats_.cq_polls;
    if (n <= 0) break;
    for (int i = 0; i < n && state_ != State::kClosed; ++i) HandleCompletion(wcs[i]);
    if (n < kCqBatch) break;  // the CQ is empty: spare the extra poll
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
                             "-byte receive buffers (declared InitiatorRecvDataSegmentLength ",
                             layout_.data_capacity(), ")")),
                         FailureKind::kProtocol));
    }
    const char* what = "send";
    if (kind == WorkKind::kRecv) what = "receive";
    if (kind == WorkKind::kBind) what = "memory window bind";
    if (kind == WorkKind::kInvalidate) what = "memory window invalidation";
    // A flush (the QP went to error: link down, target gone) or a real
    // error: either way the connection is dead.
    return Fail(Tagged(
        absl::UnavailableError(absl::StrFormat("iSER connection to %s:%u lost: %s on a %s (vendor "
                                               "error 0x%x)",
                                               endpoint_.host, endpoint_.port,
                                               ibv_wc_status_str(wc.status), what, wc.vendor_err)),
        FailureKind::kTransport));
  }
  switch (kind) {
    case WorkKind::kSend:
      if (slot < send_slots_.size()) {
        ++iser_stats_.send_completions;
        free_send_slots_.push_back(slot);
      }
      return;
    case WorkKind::kRecv:
      if (slot < recv_slots_.size()) {
        ++iser_stats_.recv_completions;
        HandleReceive(slot, wc.byte_len, &wc);
      }
      return;
    case WorkKind::kInvalidate:
      if (windows_ != nullptr && slot < windows_->size()) OnInvalidated(slot);
      return;
    case WorkKind::kBind:  // unsignaled: only errors complete
      return;
  }
}

void IserTransport::HandleReceive(uint32_t slot, uint32_t bytes, const ibv_wc* wc) {
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
  if (windows_ != nullptr && wc != nullptr) {
    const uint8_t opcode = pdu[0] & 0x3f;
    const bool ends_command =
        opcode == kOpScsiResponse || (opcode == kOpDataIn && (pdu[1] & kDataInStatusBit) != 0);
    if (ends_command && InvalidateForResponse(Load32(pdu.data() + 16), slot, bytes, wc)) return;
  }
  Deliver(slot, pdu, ahs, data);
}

void IserTransport::Deliver(uint32_t slot, std::span<const uint8_t> pdu, size_t ahs, size_t data) {
  ++stats_.pdus_received;
  stats_.bytes_received += kIserHeaderSize + pdu.size();
  listener_->OnPdu(IncomingPdu{pdu.first(kBhsSize), pdu.subspan(kBhsSize, ahs),
                               pdu.subspan(kBhsSize + ahs, data)});
  if (state_ != State::kClosed) QueueRecv(slot);  // the buffer is free again
}

bool IserTransport::InvalidateForResponse(uint32_t itt, uint32_t slot, uint32_t bytes,
                                          const ibv_wc* wc) {
  // Soft-RoCE (rxe) hands its CQ entries to user space with the kernel's
  // flag bits, where "with invalidate" is bit 2 (libibverbs' IP_CSUM_OK);
  // other providers set IBV_WC_WITH_INV. Either way the window only counts
  // as invalidated when the rkey matches exactly. Missing a remote
  // invalidation is not harmless: rxe in Linux 6.12 crashes the kernel on a
  // LOCAL_INV of a window that is already invalid.
  if ((wc->wc_flags & (IBV_WC_WITH_INV | IBV_WC_IP_CSUM_OK)) != 0) {
    if (windows_->RemoteInvalidated(itt, wc->invalidated_rkey)) {
      ++stats_.remote_invalidations;
    } else if ((wc->wc_flags & IBV_WC_WITH_INV) != 0) {
      LOG_FIRST_N(WARNING, 1) << "iSER target invalidated rkey 0x" << std::hex
                              << wc->invalidated_rkey << ", which no command holds";
    }
  }
  const uint32_t window = windows_->Find(itt);
  if (window == WindowTable::kNone) return false;  // no window, or the target invalidated it
  // The target did not invalidate the window: do it ourselves, and hand the
  // response to the session only once that completed (OnInvalidated), so
  // the buffer is never given back while the target can still reach it.
  PostLocalInvalidate(window);
  windows_->Hold(window, slot, bytes);
  return true;
}

void IserTransport::PostLocalInvalidate(uint32_t window) {
  windows_->BeginInvalidate(window);
  ibv_send_wr& wr = window_wrs_[window].invalidate;
  wr = ibv_send_wr{};
  wr.wr_id = MakeWrId(WorkKind::kInvalidate, window);
  wr.opcode = IBV_WR_LOCAL_INV;
  wr.invalidate_rkey = windows_->rkey(window);
  wr.send_flags = IBV_SEND_SIGNALED;  // its completion frees the window
  QueueSendWr(&wr);
  ++stats_.local_invalidations;
}

void IserTransport::OnInvalidated(uint32_t window) {
  windows_->Invalidated(window);
  const WindowTable::Held held = windows_->TakeHeld(window);
  if (held.recv_slot == WindowTable::kNone) return;
  // Checked when it arrived; only the delivery was waiting.
  std::span<const uint8_t> pdu(pool_ + layout_.recv_offset(held.recv_slot) + kIserHeaderSize,
                               held.bytes - kIserHeaderSize);
  Deliver(held.recv_slot, pdu, size_t{pdu[4]} * 4, Load24(pdu.data() + 5));
}

void IserTransport::QueueSendWr(ibv_send_wr* wr) {
  wr->next = nullptr;
  if (send_tail_ == nullptr) {
    send_head_ = wr;
  } else {
    send_tail_->next = wr;
  }
  send_tail_ = wr;
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
    stats_.mr_registrations = registrations_->registrations();
    if (!mr.ok()) return Fail(Tagged(mr.status(), FailureKind::kTransport));
    command_mr = *mr;
    // What the target moves by RDMA: a read's whole buffer (it writes
    // into it), a write's bytes past the immediate data (it reads them).
    uint64_t remote_va = 0;
    uint32_t remote_length = 0;
    int remote_access = 0;
    if (cmd->read) {
      remote_va = reinterpret_cast<uint64_t>(cmd->base);
      remote_length = cmd->length;
      remote_access = IBV_ACCESS_REMOTE_WRITE;
    } else if (cmd->write && cmd->length > cmd->immediate) {
      remote_va = IserWriteVa(cmd->base, cmd->immediate);
      remote_length = cmd->length - cmd->immediate;
      remote_access = IBV_ACCESS_REMOTE_READ;
    }
    if (remote_access != 0) {
      uint32_t stag = command_mr->rkey;
      if (windows_ != nullptr) {
        const uint32_t itt = Load32(pdu.bhs.data() + 16);
        // A window still bound to an earlier command of this task slot
        // (one that ended without a response): invalidate it first.
        if (uint32_t stale = windows_->Stale(itt); stale != WindowTable::kNone) {
          PostLocalInvalidate(stale);
        }
        auto binding = windows_->Acquire(itt);
        if (!binding) {
          return Fail(Tagged(absl::ResourceExhaustedError(
                                 absl::StrCat("--strict-rdma: all ", windows_->size(),
                                              " memory windows are bound or being invalidated")),
                             FailureKind::kTransport));
        }
        // The provider names the window by ibv_mw::rkey, which the kernel
        // checks against the window's current key: that of its last bind
        // until this one is posted (libibverbs never updates it itself).
        mws_[binding->window]->rkey = binding->previous_rkey;
        ibv_send_wr& bind = window_wrs_[binding->window].bind;
        bind = ibv_send_wr{};
        bind.wr_id = MakeWrId(WorkKind::kBind, binding->window);
        bind.opcode = IBV_WR_BIND_MW;
        bind.bind_mw.mw = mws_[binding->window];
        bind.bind_mw.rkey = binding->rkey;
        bind.bind_mw.bind_info.mr = command_mr;
        bind.bind_mw.bind_info.addr = remote_va;
        bind.bind_mw.bind_info.length = remote_length;
        bind.bind_mw.bind_info.mw_access_flags = static_cast<unsigned>(remote_access);
        QueueSendWr(&bind);  // before the Send: the window is valid when the command arrives
        stag = binding->rkey;
        ++stats_.windows_bound;
        iser_stats_.last_command_rkey = stag;
      }
      if (cmd->read) {
        header.flags |= kIserReadValid;
        header.read_stag = stag;
        header.read_va = remote_va;
      } else {
        header.flags |= kIserWriteValid;
        header.write_stag = stag;
        header.write_va = remote_va;
      }
      stats_.rdma_bytes += remote_length;
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
  QueueSendWr(&slot.wr);
  ++stats_.pdus_sent;
  stats_.bytes_sent += length + (slot.wr.num_sge == 2 ? slot.sge[1].length : 0);
}

void IserTransport::BeforeSubmit() {
  const bool polling =
      options_.busy_poll && cq_ != nullptr &&
      (state_ == State::kConnecting || state_ == State::kConnected || state_ == State::kDraining);
  // Busy polling: take what completed since the last pass now, so that the
  // Sends its handlers queue go out in this pass's doorbell.
  if (polling) DrainCompletions();
  if (send_head_ != nullptr && state_ == State::kConnected) {
    ibv_send_wr* bad = nullptr;
    int rc = ibv_post_send(cm_id_->qp, send_head_, &bad);
    send_head_ = send_tail_ = nullptr;
    ++stats_.doorbells;
    if (rc != 0) {
      return Fail(
          Tagged(absl::UnavailableError(absl::StrCat("posting iSER sends failed: ", strerror(rc))),
                 FailureKind::kTransport));
    }
  }
  // Keep the loop from sleeping in io_uring_enter: a no-op completes at
  // once, so the pass only reaps what is ready and comes back here.
  if (polling && state_ != State::kClosed) io_uring_prep_nop(loop_->GetSqe(nullptr));
}

void IserTransport::EnterFullFeaturePhase(const FullFeatureLimits& limits) {
  full_feature_ = true;
  // Digests do not exist over iSER (RFC 7145 forces None). The target may
  // send data segments up to the InitiatorRecvDataSegmentLength we declared,
  // which sized the receive slots (IserOptions::recv_data_bytes). A caller
  // that declared more still works with targets that send less (LIO's Sends
  // carry at most 8 KiB); a larger Send fails the connection with a local
  // length error, named in HandleCompletion().
  if (limits.max_recv_data_segment_length > layout_.data_capacity()) {
    LOG_FIRST_N(WARNING, 1) << "iSER: declared InitiatorRecvDataSegmentLength "
                            << limits.max_recv_data_segment_length << " exceeds the "
                            << layout_.data_capacity() << "-byte receive slots";
  }
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
  for (ibv_mw* mw : mws_) ibv_dealloc_mw(mw);  // the QP that bound them is gone
  mws_.clear();
  windows_.reset();
  if (registrations_ != nullptr) {
    stats_.mr_registrations = registrations_->registrations();
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
