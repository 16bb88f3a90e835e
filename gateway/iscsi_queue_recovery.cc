// IscsiQueue's path state machine (see iscsi_queue.h):
//
//   kLive --session lost--> kBackoff --delay--> kLoggingIn --ok--> kVerifying
//     ^                        ^                    |                 |  |
//     |                        +------failed--------+----failed-------+  |
//     +-------------same LUN: reissue parked requests--------------------+
//   kVerifying --different LUN--> kStopped (FailQueue; every request EIO)
//
// One tick drives it: 1 s while live (publishing counters), 100 ms while
// not (login attempts, the replacement timeout, retiring dead sessions).
#include <glog/logging.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "gateway/iscsi_backend.h"
#include "gateway/iscsi_queue.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/inquiry.h"
#include "iser_client/scsi/status.h"

namespace isergw::gateway {
namespace {

constexpr absl::Duration kLiveTick = absl::Seconds(1);
constexpr absl::Duration kRecoveryTick = absl::Milliseconds(100);
constexpr int kVerifyRetries = 5;  // UNIT ATTENTION after a target restart

uint64_t Ns(absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)); }

int64_t UnixMillis() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

void IscsiQueue::OnTimer() {
  retired_sessions_.clear();
  const uint64_t now = context_.loop->now_ns();
  if (state_ != PathState::kLive && state_ != PathState::kStopped && outage_since_ns_ != 0) {
    const bool past = PastReplacementTimeout(now);
    if (past && !failing_) {
      if (paths_.recovery->give_up.load(std::memory_order_relaxed)) {
        LOG(WARNING) << "queue " << context_.queue_id << ": detaching without a session: failing "
                     << parked_count_ << " queued requests with EIO";
      } else {
        LOG(ERROR) << "queue " << context_.queue_id << ": no session for "
                   << absl::FormatDuration(paths_.recovery->replacement_timeout())
                   << " (the replacement timeout): failing " << parked_count_
                   << " queued requests and new ones with EIO; still reconnecting";
      }
      failing_ = true;
      FailParked(-EIO);
    } else if (!past) {
      failing_ = false;  // the timeout was raised (`isergw set`)
    }
  }
  if (state_ == PathState::kBackoff && now >= next_attempt_ns_) StartLogin();
  if (now - last_publish_ns_ >= Ns(kLiveTick)) PublishCounters();
  if (state_ == PathState::kStopped) return;
  context_.loop->ArmTimer(this, state_ == PathState::kLive ? kLiveTick : kRecoveryTick);
}

bool IscsiQueue::PastReplacementTimeout(uint64_t now_ns) const {
  if (outage_since_ns_ == 0) return false;
  if (paths_.recovery->give_up.load(std::memory_order_relaxed)) return true;
  return now_ns - outage_since_ns_ >= Ns(paths_.recovery->replacement_timeout());
}

void IscsiQueue::StartLogin() {
  state_ = PathState::kLoggingIn;
  // Same ISID, TSIH 0: session reinstatement (RFC 7143 6.3.5). The target
  // ends the old session, and every task it still held, first.
  iscsi::SessionObserver* observer = this;
  session_ = std::make_unique<iscsi::Session>(context_.loop, transport_factory_, session_config_,
                                              observer);
  session_->Login(portal());
}

void IscsiQueue::OnLoginComplete(const absl::Status& status) {
  if (!login_result_.has_value()) {  // Open()'s first login
    login_result_ = status;
    if (status.ok()) {
      state_ = PathState::kLive;
      PublishSession();
    }
    return;
  }
  if (!status.ok()) return PathLost(status);
  StartVerify();
}

void IscsiQueue::OnSessionFailed(const absl::Status& status) { PathLost(status); }

void IscsiQueue::OnLoggedOut() {
  if (closing_) return;
  // The target asked for the logout (Async Message): it may be going away
  // for maintenance or moving the session. Log in again.
  PathLost(absl::UnavailableError("the target asked the session to log out"));
}

void IscsiQueue::RetireSession() {
  if (session_ == nullptr) return;
  retired_stats_ += session_->stats();
  // The session may be in its own callback: it is destroyed on the next tick.
  retired_sessions_.push_back(std::move(session_));
}

void IscsiQueue::PathLost(const absl::Status& why) {
  const uint64_t now = context_.loop->now_ns();
  RetireSession();
  if (state_ == PathState::kStopped) return;
  paths_.published->SetLastError(std::string(why.message()));
  if (state_ == PathState::kLive) {
    outage_since_ns_ = now;
    attempt_ = 0;
    paths_.published->counters().outage_since_unix_ms.store(UnixMillis(),
                                                            std::memory_order_relaxed);
    LOG(WARNING) << "queue " << context_.queue_id << ": session lost (" << FormatPath(portal())
                 << "): " << why.message() << "; reconnecting, I/O waits up to "
                 << absl::FormatDuration(paths_.recovery->replacement_timeout());
  } else {
    ++attempt_;
    // The next attempt goes to the next portal: this one may be the dead one.
    portal_index_ = (portal_index_ + 1) % paths_.portals->size();
    LOG_EVERY_N(WARNING, 10) << "queue " << context_.queue_id << ": reconnect attempt " << attempt_
                             << " failed: " << why.message();
  }
  state_ = PathState::kBackoff;
  next_attempt_ns_ = now + Ns(ReconnectDelay(attempt_));
  paths_.published->counters().path_state.store(static_cast<uint8_t>(state_),
                                                std::memory_order_relaxed);
  context_.loop->ArmTimer(this, absl::ZeroDuration());
}

void IscsiQueue::StartVerify() {
  state_ = PathState::kVerifying;
  verify_found_ = {};
  verify_retries_ = 0;
  if (info_.serial.empty() && info_.wwn.empty()) return PathRestored();
  verify_page_ = info_.serial.empty() ? 0x83 : 0x80;
  IssueVerify();
}

void IscsiQueue::IssueVerify() {
  const scsi::Cdb cdb = scsi::MakeInquiryVpd(verify_page_, sizeof(verify_buffer_));
  verify_request_ = {};
  memcpy(verify_request_.cdb, cdb.bytes, cdb.length);
  verify_request_.cdb_length = cdb.length;
  verify_request_.lun = lun_field_;
  verify_request_.direction = iscsi::DataDirection::kRead;
  verify_request_.buffer = verify_buffer_;
  verify_request_.length = sizeof(verify_buffer_);
  verify_request_.done = &IscsiQueue::OnVerifyDone;
  verify_request_.context = this;
  if (absl::Status s = session_->Submit(&verify_request_); !s.ok()) session_->Abort(s);
}

void IscsiQueue::OnVerifyDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
  static_cast<IscsiQueue*>(request->context)->VerifyDone(result);
}

void IscsiQueue::VerifyDone(const iscsi::ScsiResult& result) {
  if (!result.status.ok()) {
    // A failing session reports itself (OnSessionFailed) right after this.
    if (session_->state() == iscsi::Session::State::kFullFeature) session_->Abort(result.status);
    return;
  }
  if (result.scsi_status != 0) {
    if (++verify_retries_ <= kVerifyRetries) return IssueVerify();
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "INQUIRY VPD page ", verify_page_, " failed with SCSI status ", result.scsi_status));
    return session_->Abort(status);
  }
  const std::span<const uint8_t> data(
      verify_buffer_,
      sizeof(verify_buffer_) - std::min<size_t>(result.residual, sizeof(verify_buffer_)));
  if (verify_page_ == 0x80) {
    if (auto serial = scsi::DecodeUnitSerialNumber(data); serial.ok())
      verify_found_.serial = *serial;
    if (!info_.wwn.empty()) {
      verify_page_ = 0x83;
      verify_retries_ = 0;
      return IssueVerify();
    }
  } else if (auto ids = scsi::DecodeDeviceIdentification(data); ids.ok()) {
    verify_found_.wwn = ids->Wwn().value_or("");
  }
  absl::Status same = CheckSameLun({info_.serial, info_.wwn}, verify_found_, FormatPath(portal()));
  if (!same.ok()) return StopPath(same);
  PathRestored();
}

void IscsiQueue::PathRestored() {
  const uint64_t now = context_.loop->now_ns();
  state_ = PathState::kLive;
  failing_ = false;
  attempt_ = 0;
  PublishedSessionCounters& counters = paths_.published->counters();
  counters.reconnects.fetch_add(1, std::memory_order_relaxed);
  counters.outage_since_unix_ms.store(0, std::memory_order_relaxed);
  PublishSession();
  // Reissue in submission order: the block layer gave no ordering promise
  // between requests in flight together, but a retried write must not
  // overtake one that was submitted before it.
  reissue_order_.clear();
  for (uint16_t tag = 0; tag < slots_.size(); ++tag) {
    if (slots_[tag].parked) reissue_order_.push_back(tag);
  }
  std::sort(reissue_order_.begin(), reissue_order_.end(),
            [&](uint16_t a, uint16_t b) { return slots_[a].sequence < slots_[b].sequence; });
  LOG(WARNING) << "queue " << context_.queue_id << ": session re-established to "
               << FormatPath(portal()) << " (TSIH " << session_->tsih() << ") after "
               << absl::FormatDuration(absl::Nanoseconds(now - outage_since_ns_)) << "; reissuing "
               << reissue_order_.size() << " requests";
  outage_since_ns_ = 0;
  counters.reissued.fetch_add(reissue_order_.size(), std::memory_order_relaxed);
  for (uint16_t tag : reissue_order_) {
    Slot& slot = slots_[tag];
    slot.parked = false;
    --parked_count_;
    Issue(slot);
    if (state_ != PathState::kLive) break;  // lost again: the rest stay parked
  }
  context_.loop->ArmTimer(this, kLiveTick);
}

void IscsiQueue::StopPath(const absl::Status& why) {
  LOG(ERROR) << "queue " << context_.queue_id << ": " << why.message();
  state_ = PathState::kStopped;
  paths_.published->SetLastError(std::string(why.message()));
  paths_.published->counters().path_state.store(static_cast<uint8_t>(state_),
                                                std::memory_order_relaxed);
  FailParked(-EIO);
  session_->Abort(why);  // nothing goes to that LUN; PathLost only retires it
  context_.sink->FailQueue(why);
}

void IscsiQueue::Park(Slot& slot) {
  if (state_ == PathState::kStopped || failing_) {
    paths_.published->counters().failed_while_down.fetch_add(1, std::memory_order_relaxed);
    context_.sink->CompleteIo(slot.io.tag, -EIO);
    return;
  }
  slot.parked = true;
  ++parked_count_;
}

void IscsiQueue::FailParked(int32_t result) {
  for (Slot& slot : slots_) {
    if (!slot.parked) continue;
    slot.parked = false;
    --parked_count_;
    paths_.published->counters().failed_while_down.fetch_add(1, std::memory_order_relaxed);
    context_.sink->CompleteIo(slot.io.tag, result);
  }
}

void IscsiQueue::PublishSession() {
  paths_.published->SetSession(session_->isid(), session_->tsih(), FormatPath(portal()),
                               session_->params());
  paths_.published->counters().path_state.store(static_cast<uint8_t>(state_),
                                                std::memory_order_relaxed);
}

void IscsiQueue::PublishCounters() {
  last_publish_ns_ = context_.loop->now_ns();
  iscsi::SessionStats total = retired_stats_;
  if (session_ != nullptr) total += session_->stats();
  paths_.published->counters().Publish(total);
  paths_.published->counters().path_state.store(static_cast<uint8_t>(state_),
                                                std::memory_order_relaxed);
}

}  // namespace isergw::gateway
