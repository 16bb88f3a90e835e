// The full-feature phase: issuing SCSI commands within the CmdSN window,
// Data-Out (immediate, unsolicited, R2T-solicited), Data-In, responses, and
// the target's unsolicited PDUs.
#include "iser_client/session/session.h"

#include <glog/logging.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/pdu/serial.h"

namespace isergw::iscsi {
namespace {

// Slots beyond the SCSI commands for the session's own tasks: a NOP-Out
// ping, task management, text and logout requests.
constexpr uint32_t kInternalSlots = 8;

ConstBhsBytes Bhs(const IncomingPdu& pdu) { return ConstBhsBytes(pdu.bhs.data(), kBhsSize); }

}  // namespace

Session::Session(uring::EventLoop* loop, TransportFactory transport_factory, SessionConfig config,
                 SessionObserver* observer)
    : loop_(loop),
      transport_factory_(std::move(transport_factory)),
      config_(std::move(config)),
      observer_(observer),
      tasks_(std::min(config_.max_commands, TaskTable<Task>::kMaxSlots - kInternalSlots) +
             kInternalSlots),
      cmd_sn_(config_.initial_cmd_sn),
      exp_cmd_sn_(config_.initial_cmd_sn),
      max_cmd_sn_(config_.initial_cmd_sn) {}

Session::~Session() {
  loop_->CancelTimer(this);
  if (transport_ != nullptr) transport_->Close();
}

bool Session::WindowOpen() const { return SerialLe(cmd_sn_, max_cmd_sn_); }

absl::Status Session::Submit(ScsiRequest* request) {
  if (state_ != State::kFullFeature) {
    absl::Status status =
        state_ == State::kFailed
            ? absl::UnavailableError(absl::StrCat("session is down: ", failure_.message()))
            : absl::FailedPreconditionError("session is not logged in");
    TagFailure(status, FailureKind::kTransport);
    return status;
  }
  if (logout_requested_) {
    absl::Status status = absl::UnavailableError("the target asked this session to log out");
    TagFailure(status, FailureKind::kTransport);
    return status;
  }
  if (commands_in_flight_ >= config_.max_commands) {
    return absl::ResourceExhaustedError("every command slot of the session is busy");
  }
  if (request->cdb_length == 0 || request->cdb_length > 16 ||
      (request->direction != DataDirection::kNone && request->buffer == nullptr &&
       request->length > 0)) {
    return absl::InvalidArgumentError("malformed SCSI request");
  }
  uint32_t itt;
  Task* task = tasks_.Acquire(&itt);
  if (task == nullptr) return absl::ResourceExhaustedError("no free task slot");
  *task = Task{};
  task->kind = TaskKind::kScsi;
  task->request = request;
  task->itt = itt;
  ++commands_in_flight_;
  ++stats_.commands;
  if (queued_head_ == kNoTask && WindowOpen()) {
    IssueScsiCommand(*task);
  } else {
    // Wait in order behind the commands already waiting for the window.
    task->state = TaskState::kQueued;
    ++stats_.commands_queued_for_window;
    uint32_t slot = itt & 0xffff;
    if (queued_tail_ == kNoTask) {
      queued_head_ = slot;
    } else {
      tasks_.at_slot(queued_tail_).next_queued = slot;
    }
    queued_tail_ = slot;
  }
  return absl::OkStatus();
}

void Session::DrainQueued() {
  while (queued_head_ != kNoTask && WindowOpen() && state_ == State::kFullFeature) {
    Task& task = tasks_.at_slot(queued_head_);
    queued_head_ = task.next_queued;
    if (queued_head_ == kNoTask) queued_tail_ = kNoTask;
    task.next_queued = kNoTask;
    IssueScsiCommand(task);
  }
}

void Session::IssueScsiCommand(Task& task) {
  ScsiRequest& req = *task.request;
  task.state = TaskState::kIssued;
  task.cmd_sn = cmd_sn_++;
  task.issued_ns = loop_->now_ns();
  const bool write = req.direction == DataDirection::kWrite;
  const bool read = req.direction == DataDirection::kRead;

  uint32_t immediate = 0;
  if (write && params_.immediate_data) {
    immediate = std::min({req.length, params_.first_burst_length, max_send_segment_});
  }
  task.buffer = CommandBuffer{req.buffer, req.length, read, write, immediate};

  ScsiCommandHeader h;
  h.final = true;
  h.read = read;
  h.write = write;
  h.attr = TaskAttr::kSimple;
  h.lun = req.lun;
  h.itt = task.itt;
  h.expected_data_transfer_length = req.direction == DataDirection::kNone ? 0 : req.length;
  h.cmd_sn = task.cmd_sn;
  h.exp_stat_sn = exp_stat_sn_;
  h.data_segment_length = immediate;
  memcpy(h.cdb.data(), req.cdb, req.cdb_length);
  // Unsolicited Data-Out follows when the target waives the initial R2T
  // (over TCP only: over iSER the target fetches the rest by RDMA Read).
  uint32_t unsolicited_end = 0;
  if (write && !params_.initial_r2t && !transport_->MovesDataByRdma()) {
    unsolicited_end = std::min(req.length, params_.first_burst_length);
  }
  if (unsolicited_end > immediate) h.final = false;

  SendPdu(h, std::span<const uint8_t>(req.buffer, immediate), &task.buffer);
  if (unsolicited_end > immediate) {
    SendDataOut(task, kReservedTag, immediate, unsolicited_end - immediate);
  }
}

void Session::SendDataOut(Task& task, uint32_t ttt, uint32_t offset, uint32_t length) {
  ScsiRequest& req = *task.request;
  DataOutHeader h;
  h.lun = req.lun;
  h.itt = task.itt;
  h.ttt = ttt;
  uint32_t data_sn = 0;
  uint32_t end = offset + length;
  while (offset < end) {
    uint32_t chunk = std::min(end - offset, max_send_segment_);
    h.final = offset + chunk == end;
    h.data_segment_length = chunk;
    h.exp_stat_sn = exp_stat_sn_;
    h.data_sn = data_sn++;
    h.buffer_offset = offset;
    SendPdu(h, std::span<const uint8_t>(req.buffer + offset, chunk));
    ++stats_.data_out_pdus;
    offset += chunk;
  }
}

void Session::OnPdu(const IncomingPdu& pdu) {
  last_rx_ns_ = loop_->now_ns();
  switch (PeekOpcode(Bhs(pdu))) {
    case Opcode::kDataIn:
      return HandleDataIn(pdu);
    case Opcode::kScsiResponse:
      return HandleScsiResponse(pdu);
    case Opcode::kR2t:
      return HandleR2t(pdu);
    case Opcode::kNopIn:
      return HandleNopIn(pdu);
    case Opcode::kLoginResponse:
      return HandleLoginResponse(pdu);
    case Opcode::kTextResponse:
      return HandleTextResponse(pdu);
    case Opcode::kLogoutResponse:
      return HandleLogoutResponse(pdu);
    case Opcode::kAsyncMessage:
      return HandleAsyncMessage(pdu);
    case Opcode::kReject:
      return HandleReject(pdu);
    case Opcode::kTaskMgmtResponse:
      return HandleTaskMgmtResponse(pdu);
    default:
      return ProtocolError(absl::DataLossError(absl::StrFormat(
          "target sent unexpected PDU opcode 0x%02x", static_cast<int>(pdu.bhs[0] & 0x3f))));
  }
}

void Session::UpdateWindow(uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  // RFC 7143 4.2.2.1: a window with MaxCmdSN < ExpCmdSN - 1 is invalid and
  // ignored; otherwise neither value may move backwards.
  if (!CmdSnWindowValid(exp_cmd_sn, max_cmd_sn)) return;
  if (SerialGt(exp_cmd_sn, exp_cmd_sn_)) exp_cmd_sn_ = exp_cmd_sn;
  if (SerialGt(max_cmd_sn, max_cmd_sn_)) max_cmd_sn_ = max_cmd_sn;
  DrainQueued();
}

void Session::UpdateStatSn(uint32_t stat_sn) {
  if (SerialGe(stat_sn + 1, exp_stat_sn_)) exp_stat_sn_ = stat_sn + 1;
}

void Session::HandleDataIn(const IncomingPdu& pdu) {
  auto h = DecodeDataIn(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  Task* task = tasks_.Find(h->itt);
  if (task == nullptr || task->kind != TaskKind::kScsi || task->state == TaskState::kQueued) {
    ++stats_.stale_replies;
    return;
  }
  ScsiRequest& req = *task->request;
  if (req.direction != DataDirection::kRead) {
    return ProtocolError(absl::DataLossError("target sent Data-In for a command without reads"));
  }
  uint64_t end = uint64_t{h->buffer_offset} + pdu.data.size();
  if (end > req.length) {
    return ProtocolError(absl::DataLossError(
        absl::StrFormat("target sent Data-In past the buffer (offset %u + %u > %u)",
                        h->buffer_offset, pdu.data.size(), req.length)));
  }
  if (h->data_sn != task->expected_data_sn) {
    return ProtocolError(absl::DataLossError(absl::StrFormat(
        "Data-In out of order: DataSN %u, expected %u", h->data_sn, task->expected_data_sn)));
  }
  ++task->expected_data_sn;
  if (!pdu.data.empty()) memcpy(req.buffer + h->buffer_offset, pdu.data.data(), pdu.data.size());
  task->data_in_bytes += static_cast<uint32_t>(pdu.data.size());
  if (h->status_present) {
    UpdateStatSn(h->stat_sn);
    ScsiResult result;
    result.scsi_status = h->status;
    result.residual = h->residual_count;
    result.underflow = h->underflow;
    result.overflow = h->overflow;
    CompleteScsi(*task, result);
  }
}

void Session::HandleScsiResponse(const IncomingPdu& pdu) {
  auto h = DecodeScsiResponse(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateStatSn(h->stat_sn);
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  Task* task = tasks_.Find(h->itt);
  if (task == nullptr || task->kind != TaskKind::kScsi || task->state == TaskState::kQueued) {
    ++stats_.stale_replies;
    return;
  }
  ScsiResult result;
  if (h->response != 0) {
    result.status = absl::InternalError(absl::StrFormat(
        "target failed the command (iSCSI response 0x%02x)", static_cast<int>(h->response)));
    TagFailure(result.status, FailureKind::kIo);
  }
  result.scsi_status = h->status;
  result.residual = h->residual_count;
  result.underflow = h->underflow;
  result.overflow = h->overflow;
  // Sense data: a 2-byte SenseLength, then the sense bytes (RFC 7143 11.4.7).
  if (pdu.data.size() >= 2) {
    size_t sense_length = (size_t{pdu.data[0]} << 8) | pdu.data[1];
    sense_length = std::min(sense_length, pdu.data.size() - 2);
    result.sense = pdu.data.subspan(2, sense_length);
  }
  CompleteScsi(*task, result);
}

void Session::HandleR2t(const IncomingPdu& pdu) {
  auto h = DecodeR2t(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  Task* task = tasks_.Find(h->itt);
  if (task == nullptr || task->kind != TaskKind::kScsi || task->state == TaskState::kQueued) {
    ++stats_.stale_replies;
    return;
  }
  ScsiRequest& req = *task->request;
  uint64_t end = uint64_t{h->buffer_offset} + h->desired_data_transfer_length;
  if (req.direction != DataDirection::kWrite || end > req.length ||
      h->desired_data_transfer_length == 0 ||
      h->desired_data_transfer_length > params_.max_burst_length) {
    return ProtocolError(absl::DataLossError(
        absl::StrFormat("target sent an invalid R2T (offset %u, length %u, command length %u)",
                        h->buffer_offset, h->desired_data_transfer_length, req.length)));
  }
  ++stats_.r2ts;
  SendDataOut(*task, h->ttt, h->buffer_offset, h->desired_data_transfer_length);
}

void Session::CompleteScsi(Task& task, const ScsiResult& result) {
  ScsiRequest* req = task.request;
  uint32_t itt = task.itt;
  // Releasing bumps the slot's generation, so a pending ABORT TASK naming
  // this ITT will find nothing left to abort.
  tasks_.Release(itt);
  --commands_in_flight_;
  req->done(req, result);
  if (logout_requested_ && commands_in_flight_ == 0 && state_ == State::kFullFeature) Logout();
}

void Session::HandleNopIn(const IncomingPdu& pdu) {
  auto h = DecodeNopIn(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  if (h->itt != kReservedTag) {
    // The answer to our ping.
    UpdateStatSn(h->stat_sn);
    if (h->itt == nop_itt_) {
      tasks_.Release(nop_itt_);
      nop_itt_ = kReservedTag;
    } else {
      ++stats_.stale_replies;
    }
    return;
  }
  if (h->ttt != kReservedTag) {
    // The target pings us: answer with its TTT, as an immediate NOP-Out.
    NopOutHeader out;
    out.immediate = true;
    out.lun = h->lun;
    out.itt = kReservedTag;
    out.ttt = h->ttt;
    out.cmd_sn = cmd_sn_;
    out.exp_stat_sn = exp_stat_sn_;
    SendPdu(out);
    ++stats_.target_nops_answered;
  }
}

void Session::HandleAsyncMessage(const IncomingPdu& pdu) {
  auto h = DecodeAsyncMessage(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateStatSn(h->stat_sn);
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  ++stats_.async_messages;
  switch (h->async_event) {
    case 0:  // SCSI asynchronous event: sense data in the data segment
      LOG(INFO) << "target reported a SCSI asynchronous event";
      return;
    case 1:  // the target asks us to log out within Parameter3 seconds
      // No new commands; log out once those in flight have finished.
      LOG(WARNING) << "target requests logout within " << h->parameter3 << " s";
      logout_requested_ = true;
      if (commands_in_flight_ == 0) Logout();
      return;
    case 2:    // the target will drop this connection
    case 3: {  // the target will drop every connection of the session
      absl::Status status = absl::UnavailableError(
          absl::StrFormat("target is dropping the connection (async event %d, retry after %u s)",
                          static_cast<int>(h->async_event), h->parameter2));
      TagFailure(status, FailureKind::kTransport);
      return EnterFailed(status);
    }
    case 4:  // the target asks to renegotiate: nothing needs changing here
      return;
    default:
      return;
  }
}

void Session::HandleReject(const IncomingPdu& pdu) {
  auto h = DecodeReject(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateStatSn(h->stat_sn);
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  ++stats_.rejects;
  if (pdu.data.size() < kBhsSize) {
    return ProtocolError(absl::DataLossError("Reject without the rejected header"));
  }
  uint32_t itt = PeekItt(ConstBhsBytes(pdu.data.data(), kBhsSize));
  Task* task = tasks_.Find(itt);
  absl::Status status = absl::InternalError(
      absl::StrFormat("target rejected a PDU (reason 0x%02x)", static_cast<int>(h->reason)));
  TagFailure(status, FailureKind::kProtocol);
  if (task == nullptr) {
    LOG(WARNING) << status.message();
    return;
  }
  switch (task->kind) {
    case TaskKind::kScsi:
      if (task->state != TaskState::kQueued) {
        ScsiResult result;
        result.status = status;
        CompleteScsi(*task, result);
      }
      return;
    case TaskKind::kText:
      tasks_.Release(itt);
      if (send_targets_done_) std::exchange(send_targets_done_, nullptr)(status);
      return;
    default:
      // A rejected ping, task management or logout leaves the session in a
      // state we cannot reason about: start over.
      return ProtocolError(status);
  }
}

void Session::FailAllTasks(const absl::Status& status) {
  queued_head_ = queued_tail_ = kNoTask;
  for (uint32_t slot = 0; slot < tasks_.capacity(); ++slot) {
    if (!tasks_.in_use(slot)) continue;
    Task& task = tasks_.at_slot(slot);
    if (task.kind == TaskKind::kScsi) {
      ScsiResult result;
      result.status = status;
      CompleteScsi(task, result);
    } else {
      tasks_.Release(task.itt);
    }
  }
  nop_itt_ = kReservedTag;
  tmf_itt_ = kReservedTag;
  login_itt_ = 0;
  if (send_targets_done_) std::exchange(send_targets_done_, nullptr)(status);
}

void Session::ProtocolError(absl::Status status) {
  ++stats_.protocol_errors;
  if (GetFailureKind(status) == FailureKind::kNone) TagFailure(status, FailureKind::kProtocol);
  LOG(ERROR) << "protocol error, dropping the connection: " << status.message();
  EnterFailed(std::move(status));
}

void Session::OnTransportError(absl::Status status) {
  // A target may refuse a login by just hanging up (LIO does when it wants
  // CHAP and the initiator offers none): say so, as a login failure.
  if (state_ == State::kLoggingIn && GetFailureKind(status) == FailureKind::kTransport) {
    status = WithFailure(
        absl::UnavailableError(absl::StrCat(status.message(),
                                            " during login (a refused login: does the target "
                                            "require CHAP, or not allow this initiator?)")),
        FailureKind::kLoginFailed);
  }
  EnterFailed(std::move(status));
}

void Session::Abort(absl::Status why) { EnterFailed(std::move(why)); }

void Session::EnterFailed(absl::Status status) {
  if (state_ == State::kFailed || state_ == State::kLoggedOut) return;
  State previous = state_;
  state_ = State::kFailed;
  failure_ = status;
  if (transport_ != nullptr) {
    transport_->Close();
    retired_transports_.push_back(std::move(transport_));
  }
  loop_->CancelTimer(this);
  FailAllTasks(status);
  if (previous == State::kConnecting || previous == State::kLoggingIn) {
    observer_->OnLoginComplete(status);
  } else {
    observer_->OnSessionFailed(status);
  }
}

}  // namespace isergw::iscsi
