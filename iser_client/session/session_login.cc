// Connecting, logging in (with redirection), discovery and logout.
#include <glog/logging.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/session/session.h"

namespace isergw::iscsi {
namespace {

constexpr absl::Duration kTick = absl::Milliseconds(500);

FailureKind FailureKindFor(LoginFailure why) {
  switch (why) {
    case LoginFailure::kAuthenticationFailed:
    case LoginFailure::kMutualAuthFailed:
    case LoginFailure::kChapNotConfigured:
      return FailureKind::kAuthFailed;
    case LoginFailure::kAuthorizationFailed:
      return FailureKind::kAuthorizationFailed;
    case LoginFailure::kTargetNotFound:
    case LoginFailure::kTargetRemoved:
      return FailureKind::kTargetNotFound;
    case LoginFailure::kProtocolError:
      return FailureKind::kProtocol;
    case LoginFailure::kBadConfig:
      return FailureKind::kInvalidArgument;
    default:
      return FailureKind::kLoginFailed;
  }
}

ConstBhsBytes Bhs(const IncomingPdu& pdu) { return ConstBhsBytes(pdu.bhs.data(), kBhsSize); }

std::span<const uint8_t> AsBytes(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

void Session::Login(const Endpoint& endpoint) {
  endpoint_ = endpoint;
  redirects_ = 0;
  StartConnect();
}

void Session::StartConnect() {
  state_ = State::kConnecting;
  failure_ = absl::OkStatus();
  login_deadline_ns_ = loop_->now_ns() + static_cast<uint64_t>(absl::ToInt64Nanoseconds(
                                             config_.connect_timeout + config_.login_timeout));
  if (transport_ != nullptr) {
    transport_->Close();
    retired_transports_.push_back(std::move(transport_));
  }
  if (login_itt_ != 0) {  // a redirected login starts a new task
    tasks_.Release(login_itt_);
    login_itt_ = 0;
  }
  transport_ = transport_factory_(loop_, this);
  loop_->ArmTimer(this, kTick);
  transport_->Connect(endpoint_, config_.connect_timeout);
}

void Session::OnConnected(absl::Status status) {
  if (state_ != State::kConnecting) return;
  if (!status.ok()) return EnterFailed(std::move(status));
  auto machine = LoginMachine::Create(config_.login);
  if (!machine.ok()) return EnterFailed(machine.status());
  login_.emplace(std::move(*machine));
  state_ = State::kLoggingIn;
  last_rx_ns_ = loop_->now_ns();
  auto first = login_->Start();
  if (!first.ok()) return EnterFailed(first.status());
  SendLoginRequest(std::move(*first));
}

void Session::SendLoginRequest(LoginRequestStep step) {
  // Every request of one login carries the same ITT: targets answer with
  // the ITT of the first (LIO does), and RFC 7143 wants one task.
  if (login_itt_ == 0) {
    Task* task = tasks_.Acquire(&login_itt_);
    *task = Task{};
    task->kind = TaskKind::kLogin;
    task->itt = login_itt_;
  }
  login_text_ = std::move(step.text);

  LoginRequestHeader h;
  h.transit = step.transit;
  h.cont = step.cont;
  h.csg = step.csg;
  h.nsg = step.nsg;
  h.version_max = 0;
  h.version_min = 0;
  h.isid = config_.login.isid;
  h.tsih = config_.login.tsih;
  h.itt = login_itt_;
  h.cid = 0;
  h.cmd_sn = cmd_sn_;
  h.exp_stat_sn = exp_stat_sn_;
  h.data_segment_length = static_cast<uint32_t>(login_text_.size());
  SendPdu(h, AsBytes(login_text_));
}

void Session::HandleLoginResponse(const IncomingPdu& pdu) {
  if (state_ != State::kLoggingIn) {
    return ProtocolError(absl::DataLossError("Login Response outside the login phase"));
  }
  auto h = DecodeLoginResponse(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  if (h->itt != login_itt_) {
    return ProtocolError(absl::DataLossError("Login Response for another login request"));
  }
  if (h->status_class == 0) {
    // StatSN and the window are valid only in a successful response.
    exp_stat_sn_ = h->stat_sn + 1;
    exp_cmd_sn_ = h->exp_cmd_sn;
    max_cmd_sn_ = h->max_cmd_sn;
  }
  LoginResponseStep step;
  step.transit = h->transit;
  step.cont = h->cont;
  step.csg = h->csg;
  step.nsg = h->nsg;
  step.status_class = h->status_class;
  step.status_detail = h->status_detail;
  step.tsih = h->tsih;
  step.text = pdu.data;
  auto next = login_->OnResponse(step);
  if (!next.ok()) {
    LoginFailure why = login_->failure();
    if (why == LoginFailure::kRedirectTemporary || why == LoginFailure::kRedirectPermanent) {
      auto redirect = ParseTargetAddress(login_->redirect_address());
      if (!redirect.ok()) return EnterFailed(next.status());
      if (++redirects_ > config_.max_redirects) {
        absl::Status loop_status = absl::UnavailableError(
            absl::StrCat("login redirected more than ", config_.max_redirects, " times"));
        TagFailure(loop_status, FailureKind::kLoginFailed);
        return EnterFailed(loop_status);
      }
      LOG(INFO) << "login redirected to " << redirect->host << ":" << redirect->port;
      endpoint_ = Endpoint{redirect->host, redirect->port};
      return StartConnect();
    }
    absl::Status status = next.status();
    TagFailure(status, FailureKindFor(why));
    return EnterFailed(std::move(status));
  }
  if (!next->has_value()) {
    tsih_ = login_->tsih();
    return FinishLogin(absl::OkStatus());
  }
  SendLoginRequest(std::move(**next));
}

void Session::FinishLogin(absl::Status status) {
  if (!status.ok()) return EnterFailed(std::move(status));
  params_ = login_->params();
  tasks_.Release(login_itt_);
  login_itt_ = 0;
  login_text_.clear();
  max_send_segment_ = params_.MaxSendDataSegmentLength();
  FullFeatureLimits limits;
  limits.header_digest = params_.header_digest == Digest::kCrc32c;
  limits.data_digest = params_.data_digest == Digest::kCrc32c;
  limits.max_recv_data_segment_length = params_.MaxRecvDataSegmentLength();
  transport_->EnterFullFeaturePhase(limits);
  state_ = State::kFullFeature;
  last_rx_ns_ = loop_->now_ns();
  observer_->OnLoginComplete(absl::OkStatus());
}

void Session::SendTargets(std::function<void(absl::StatusOr<std::vector<DiscoveredTarget>>)> done) {
  if (state_ != State::kFullFeature) {
    done(absl::FailedPreconditionError("session is not logged in"));
    return;
  }
  uint32_t itt;
  Task* task = tasks_.Acquire(&itt);
  if (task == nullptr) {
    done(absl::ResourceExhaustedError("no free task slot"));
    return;
  }
  *task = Task{};
  task->kind = TaskKind::kText;
  task->itt = itt;
  send_targets_done_ = std::move(done);
  text_in_.Reset();
  text_out_.clear();
  AppendPair(text_out_, "SendTargets", "All");

  TextRequestHeader h;
  h.final = true;
  h.itt = itt;
  h.ttt = kReservedTag;
  h.cmd_sn = cmd_sn_++;
  h.exp_stat_sn = exp_stat_sn_;
  h.data_segment_length = static_cast<uint32_t>(text_out_.size());
  SendPdu(h, AsBytes(text_out_));
}

void Session::HandleTextResponse(const IncomingPdu& pdu) {
  auto h = DecodeTextResponse(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateStatSn(h->stat_sn);
  UpdateWindow(h->exp_cmd_sn, h->max_cmd_sn);
  Task* task = tasks_.Find(h->itt);
  if (task == nullptr || task->kind != TaskKind::kText) {
    ++stats_.stale_replies;
    return;
  }
  if (absl::Status appended = text_in_.Append(pdu.data); !appended.ok()) {
    tasks_.Release(h->itt);
    if (send_targets_done_) std::exchange(send_targets_done_, nullptr)(appended);
    return;
  }
  if (!h->final) {
    // More to come: ask for it with the target's TTT and an empty request.
    if (h->ttt == kReservedTag) {
      return ProtocolError(absl::DataLossError("Text Response continues without a TTT"));
    }
    TextRequestHeader next;
    next.final = true;
    next.itt = h->itt;
    next.ttt = h->ttt;
    next.cmd_sn = cmd_sn_++;
    next.exp_stat_sn = exp_stat_sn_;
    SendPdu(next);
    return;
  }
  tasks_.Release(h->itt);
  std::string text = text_in_.Take();
  auto targets = ParseSendTargets(text);
  if (send_targets_done_) std::exchange(send_targets_done_, nullptr)(std::move(targets));
}

void Session::Logout() {
  if (state_ != State::kFullFeature) return;
  uint32_t itt;
  Task* task = tasks_.Acquire(&itt);
  if (task == nullptr) return;
  *task = Task{};
  task->kind = TaskKind::kLogout;
  task->itt = itt;
  state_ = State::kLoggingOut;
  LogoutRequestHeader h;
  h.immediate = true;
  h.reason = 0;  // close the session
  h.itt = itt;
  h.cid = 0;
  h.cmd_sn = cmd_sn_;
  h.exp_stat_sn = exp_stat_sn_;
  SendPdu(h);
}

void Session::HandleLogoutResponse(const IncomingPdu& pdu) {
  auto h = DecodeLogoutResponse(Bhs(pdu));
  if (!h.ok()) return ProtocolError(h.status());
  UpdateStatSn(h->stat_sn);
  Task* task = tasks_.Find(h->itt);
  if (task == nullptr || task->kind != TaskKind::kLogout) {
    ++stats_.stale_replies;
    return;
  }
  tasks_.Release(h->itt);
  if (h->response != 0) LOG(WARNING) << "logout response " << int{h->response};
  state_ = State::kLoggedOut;
  loop_->CancelTimer(this);
  transport_->Close();
  retired_transports_.push_back(std::move(transport_));
  absl::Status loggedout = absl::UnavailableError("session logged out");
  FailAllTasks(loggedout);
  observer_->OnLoggedOut();
}

}  // namespace isergw::iscsi
