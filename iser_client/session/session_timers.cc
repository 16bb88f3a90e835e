// Liveness (NOP-Out pings) and command timeouts, driven by one periodic tick:
// a per-command timer would cost a syscall or an allocation per I/O, a scan
// of the task slots once a second costs neither.
#include <glog/logging.h>

#include "absl/strings/str_format.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/session/session.h"

namespace isergw::iscsi {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(500);
constexpr uint8_t kTmfAbortTask = 1;
constexpr uint8_t kTmfLogicalUnitReset = 5;

uint64_t Ns(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)); }

}  // namespace

void Session::OnTimer() {
  retired_transports_.clear();
  uint64_t now = loop_->now_ns();
  if (state_ == State::kConnecting || state_ == State::kLoggingIn) {
    if (now >= login_deadline_ns_) {
      absl::Status status = absl::DeadlineExceededError(absl::StrFormat(
          "%s to %s:%u timed out", state_ == State::kConnecting ? "connect" : "login",
          endpoint_.host, endpoint_.port));
      TagFailure(status, FailureKind::kTimedOut);
      return EnterFailed(status);
    }
  } else if (state_ == State::kFullFeature || state_ == State::kLoggingOut) {
    CheckTimeouts();
    if (state_ == State::kFailed) return;
  } else {
    return;  // idle, logged out or failed: the tick stops
  }
  loop_->ArmTimer(this, kTick);
}

void Session::CheckTimeouts() {
  uint64_t now = loop_->now_ns();
  if (nop_itt_ != kReservedTag) {
    if (now - nop_sent_ns_ > Ns(config_.nop_timeout)) {
      absl::Status status = absl::DeadlineExceededError(
          absl::StrFormat("target %s:%u did not answer a NOP-Out ping within %s", endpoint_.host,
                          endpoint_.port, absl::FormatDuration(config_.nop_timeout)));
      TagFailure(status, FailureKind::kTimedOut);
      return EnterFailed(status);
    }
  } else if (now - last_rx_ns_ > Ns(config_.nop_interval)) {
    SendNopPing();
  }

  if (tmf_itt_ != kReservedTag) {
    Task* tmf = tasks_.Find(tmf_itt_);
    if (tmf != nullptr && now - tmf->issued_ns > Ns(config_.task_mgmt_timeout)) {
      absl::Status status = absl::DeadlineExceededError(
          "target did not answer task management in time; dropping the session");
      TagFailure(status, FailureKind::kTimedOut);
      return EnterFailed(status);
    }
    return;  // one task management request at a time
  }
  if (state_ != State::kFullFeature) return;
  for (uint32_t slot = 0; slot < tasks_.capacity(); ++slot) {
    if (!tasks_.in_use(slot)) continue;
    Task& task = tasks_.at_slot(slot);
    if (task.kind != TaskKind::kScsi || task.state == TaskState::kQueued) continue;
    if (now - task.issued_ns <= Ns(config_.command_timeout)) continue;
    if (task.state == TaskState::kIssued) {
      LOG(WARNING) << "command ITT " << task.itt << " timed out; sending ABORT TASK";
      task.state = TaskState::kAborting;
      ++stats_.aborts;
      SendTaskMgmt(kTmfAbortTask, task.request->lun, task.itt);
    } else {
      // Aborting did not finish the command: reset the logical unit.
      LOG(WARNING) << "abort of ITT " << task.itt << " did not finish it; LOGICAL UNIT RESET";
      ++stats_.lun_resets;
      SendTaskMgmt(kTmfLogicalUnitReset, task.request->lun, kReservedTag);
    }
    return;
  }
}

void Session::SendNopPing() {
  uint32_t itt;
  Task* task = tasks_.Acquire(&itt);
  if (task == nullptr) return;
  *task = Task{};
  task->kind = TaskKind::kNopOut;
  task->itt = itt;
  nop_itt_ = itt;
  nop_sent_ns_ = loop_->now_ns();
  NopOutHeader h;
  h.immediate = true;
  h.itt = itt;
  h.ttt = kReservedTag;
  h.cmd_sn = cmd_sn_;
  h.exp_stat_sn = exp_stat_sn_;
  SendPdu(h);
  ++stats_.nop_pings;
}

void Session::SendTaskMgmt(uint8_t function, uint64_t lun, uint32_t referenced_itt) {
  uint32_t itt;
  Task* task = tasks_.Acquire(&itt);
  if (task == nullptr) return;
  *task = Task{};
  task->kind = TaskKind::kTaskMgmt;
  task->itt = itt;
  task->issued_ns = loop_->now_ns();
  task->referenced_itt = referenced_itt;
  task->tmf_function = function;
  tmf_itt_ = itt;
  TaskMgmtRequestHeader h;
  h.immediate = true;
  h.function = function;
  h.lun = lun;
  h.itt = itt;
  h.referenced_task_tag = referenced_itt;
  h.cmd_sn = cmd_sn_;
  h.exp_stat_sn = exp_stat_sn_;
  if (referenced_itt != kReservedTag) {
    Task* ref = tasks_.Find(referenced_itt);
    if (ref != nullptr) h.ref_cmd_sn = ref->cmd_sn;
  }
  SendPdu(h);
}

void Session::HandleTaskMgmtResponse(const IncomingPdu& pdu) {
  auto h = DecodeTaskMgmtResponse(ConstBhsBytes(pdu.bhs.data(), kBhsSize));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateStatSn(h->stat_sn);
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  Task* tmf = tasks_.Find(h->itt);
  if (tmf == nullptr || tmf->kind != TaskKind::kTaskMgmt) {
    ++stats_.stale_replies;
    return;
  }
  uint32_t referenced = tmf->referenced_itt;
  uint8_t function = tmf->tmf_function;
  tasks_.Release(h->itt);
  tmf_itt_ = kReservedTag;
  // 0: function complete, 1: task does not exist (it finished meanwhile).
  if (h->response > 1) {
    LOG(WARNING) << "task management refused (response " << int{h->response} << ")";
    return;  // the next tick escalates
  }
  absl::Status aborted = absl::AbortedError("command timed out and was aborted at the target");
  TagFailure(aborted, FailureKind::kTimedOut);
  if (function == kTmfAbortTask) {
    // Find() misses when the command finished meanwhile (its slot's
    // generation moved on): then there is nothing to fail.
    Task* task = tasks_.Find(referenced);
    if (task != nullptr && task->kind == TaskKind::kScsi) {
      ScsiResult result;
      result.status = aborted;
      CompleteScsi(*task, result);
    }
    return;
  }
  // LOGICAL UNIT RESET: the target dropped every command of the session's
  // logical unit; none of them will be answered.
  for (uint32_t slot = 0; slot < tasks_.capacity(); ++slot) {
    if (!tasks_.in_use(slot)) continue;
    Task& task = tasks_.at_slot(slot);
    if (task.kind == TaskKind::kScsi && task.state != TaskState::kQueued) {
      ScsiResult result;
      result.status = aborted;
      CompleteScsi(task, result);
    }
  }
}

}  // namespace isergw::iscsi
