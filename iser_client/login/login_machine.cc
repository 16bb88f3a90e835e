#include "iser_client/login/login_machine.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace isergw::iscsi {
namespace {

// A hostile or broken target must not keep us in login forever.
constexpr int kMaxResponses = 128;

bool IsSecurityKey(absl::string_view key) {
  return key == "AuthMethod" || key.substr(0, 5) == "CHAP_";
}

bool HasChapChallengeKeys(const TextPairs& pairs) {
  return FindValue(pairs, "CHAP_A") != nullptr || FindValue(pairs, "CHAP_I") != nullptr ||
         FindValue(pairs, "CHAP_C") != nullptr;
}

std::string StageName(uint8_t stage) {
  switch (stage) {
    case kStageSecurityNegotiation:
      return "SecurityNegotiation";
    case kStageLoginOperationalNegotiation:
      return "LoginOperationalNegotiation";
    case kStageFullFeaturePhase:
      return "FullFeaturePhase";
  }
  return absl::StrCat("stage ", stage);
}

}  // namespace

absl::StatusOr<LoginMachine> LoginMachine::Create(LoginConfig config) {
  auto bad = [](absl::string_view m) { return MakeLoginError(LoginFailure::kBadConfig, m); };
  if (config.initiator_name.empty() || config.initiator_name.size() > 223) {
    return bad("login: InitiatorName must be 1..223 bytes");
  }
  if (config.session_type == SessionType::kNormal &&
      (config.target_name.empty() || config.target_name.size() > 223)) {
    return bad("login: a Normal session needs a TargetName of 1..223 bytes");
  }
  if (config.initiator_alias.size() > kMaxSimpleValueLength) {
    return bad("login: InitiatorAlias longer than 255 bytes");
  }
  if (config.max_request_data < 512) return bad("login: max_request_data below 512");
  auto negotiator = OperationalNegotiator::Create(config.negotiation, config.session_type);
  if (!negotiator.ok()) return bad(negotiator.status().message());
  std::optional<ChapInitiator> chap;
  if (config.chap.has_value()) {
    auto c = ChapInitiator::Create(*config.chap);
    if (!c.ok()) return bad(c.status().message());
    chap.emplace(*std::move(c));
  }
  LoginMachine m(std::move(config), *std::move(negotiator), std::move(chap));
  m.in_text_ = TextAccumulator(m.config_.max_response_text);
  return m;
}

absl::Status LoginMachine::Fail(LoginFailure failure, absl::string_view message) {
  state_ = State::kFailed;
  failure_ = failure;
  return MakeLoginError(failure, message);
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::FailStep(LoginFailure failure,
                                                                       absl::string_view message) {
  return Fail(failure, message);
}

LoginRequestStep LoginMachine::Send(uint8_t csg, uint8_t nsg, bool transit, std::string text) {
  out_csg_ = csg;
  out_nsg_ = nsg;
  out_transit_ = transit;
  out_rest_ = std::move(text);
  return NextChunk();
}

LoginRequestStep LoginMachine::NextChunk() {
  LoginRequestStep step;
  step.csg = out_csg_;
  step.nsg = out_nsg_;
  const size_t n = std::min<size_t>(out_rest_.size(), config_.max_request_data);
  step.text = out_rest_.substr(0, n);
  out_rest_.erase(0, n);
  step.cont = !out_rest_.empty();
  // RFC 7143 11.12.2: T must be 0 while C is 1.
  step.transit = step.cont ? false : out_transit_;
  last_transit_ = step.transit;
  last_cont_ = step.cont;
  return step;
}

std::string LoginMachine::TakeReplies(const TextPairs& more) {
  std::string text = SerializeText(pending_replies_);
  pending_replies_.clear();
  text += SerializeText(more);
  return text;
}

absl::StatusOr<LoginRequestStep> LoginMachine::Start() {
  if (state_ != State::kIdle) {
    return MakeLoginError(LoginFailure::kBadConfig, "login: Start() called twice");
  }
  std::string text;
  AppendPair(text, "InitiatorName", config_.initiator_name);
  if (!config_.initiator_alias.empty()) AppendPair(text, "InitiatorAlias", config_.initiator_alias);
  if (config_.session_type == SessionType::kNormal) {
    AppendPair(text, "TargetName", config_.target_name);
  }
  if (config_.tsih == 0) {  // SessionType is leading-connection only
    AppendPair(text, "SessionType",
               config_.session_type == SessionType::kNormal ? "Normal" : "Discovery");
  }
  bool transit;
  if (!chap_.has_value()) {
    // Nothing to authenticate with: offer None and ask to move on at once.
    AppendPair(text, "AuthMethod", "None");
    offered_none_ = true;
    transit = true;
  } else {
    // With mutual CHAP, None would let the target skip proving itself.
    offered_none_ = !chap_->mutual();
    AppendPair(text, "AuthMethod", offered_none_ ? "CHAP,None" : "CHAP");
    transit = false;
  }
  state_ = State::kSecurityAuthMethod;
  return Send(kStageSecurityNegotiation, kStageLoginOperationalNegotiation, transit,
              std::move(text));
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::OnResponse(
    const LoginResponseStep& rsp) {
  if (state_ == State::kIdle || state_ == State::kFullFeature || state_ == State::kFailed) {
    return FailStep(LoginFailure::kProtocolError,
                    "login: unexpected Login Response (login not in progress)");
  }
  if (++responses_ > kMaxResponses) {
    return FailStep(
        LoginFailure::kProtocolError,
        absl::StrCat("login: target still negotiating after ", kMaxResponses, " responses"));
  }
  const LoginFailure status_failure = LoginFailureFromStatus(rsp.status_class, rsp.status_detail);
  if (status_failure != LoginFailure::kNone) {
    const std::string code = absl::StrFormat("0x%02x%02x", rsp.status_class, rsp.status_detail);
    if (rsp.status_class == 0x01) {
      TextParseOptions lenient;
      lenient.reject_duplicate_keys = false;
      auto pairs = ParseText(rsp.text, lenient);
      const std::string* address = pairs.ok() ? FindValue(*pairs, "TargetAddress") : nullptr;
      if (address == nullptr) {
        return FailStep(LoginFailure::kProtocolError,
                        absl::StrCat("login: redirect (", code, ") without a TargetAddress"));
      }
      redirect_address_ = *address;
      return FailStep(status_failure, absl::StrCat("login: ", LoginFailureName(status_failure),
                                                   " (", code, "); reconnect to ", *address));
    }
    std::string message = absl::StrCat(
        "login rejected by target: ", LoginFailureName(status_failure), " (", code, ")");
    if (status_failure == LoginFailure::kAuthenticationFailed && !chap_.has_value()) {
      message += "; no CHAP credentials are configured and the target likely requires them";
    }
    return FailStep(status_failure, message);
  }
  if (rsp.status_class != 0 || rsp.status_detail != 0) {
    return FailStep(LoginFailure::kProtocolError, "login: unknown success status");
  }
  if (rsp.cont && rsp.transit) {
    return FailStep(LoginFailure::kProtocolError, "login: response with both C and T set");
  }
  if (rsp.csg != out_csg_) {
    return FailStep(LoginFailure::kProtocolError,
                    absl::StrCat("login: response for ", StageName(rsp.csg), " while in ",
                                 StageName(out_csg_)));
  }
  if (rsp.transit) {
    if (!last_transit_) {
      return FailStep(LoginFailure::kProtocolError,
                      "login: target transited although we did not ask to (T=0)");
    }
    if (rsp.nsg != out_nsg_) {
      return FailStep(LoginFailure::kProtocolError,
                      absl::StrCat("login: target moved to ", StageName(rsp.nsg), ", we asked for ",
                                   StageName(out_nsg_)));
    }
  }

  // Our request is still going out in pieces: the target acknowledges each
  // with an empty response.
  if (last_cont_) {
    if (!rsp.text.empty() || rsp.cont || rsp.transit) {
      return FailStep(LoginFailure::kProtocolError,
                      "login: target answered before our continued request was complete");
    }
    return std::optional<LoginRequestStep>(NextChunk());
  }

  if (auto s = in_text_.Append(rsp.text); !s.ok()) {
    return FailStep(LoginFailure::kProtocolError, absl::StrCat("login: ", s.message()));
  }
  if (rsp.cont) {
    // More text follows: fetch it with an empty request (RFC 7143 6.1). It
    // repeats our T/NSG wish so the target may transit with its last piece.
    LoginRequestStep step;
    step.csg = out_csg_;
    step.nsg = out_nsg_;
    step.transit = out_transit_;
    last_transit_ = out_transit_;
    last_cont_ = false;
    return std::optional<LoginRequestStep>(std::move(step));
  }
  const std::string text = in_text_.Take();
  auto pairs = ParseText(text);
  if (!pairs.ok()) {
    return FailStep(LoginFailure::kProtocolError,
                    absl::StrCat("login response: ", pairs.status().message()));
  }
  if (rsp.transit) tsih_ = rsp.tsih;
  return Dispatch(rsp, *pairs);
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::Dispatch(const LoginResponseStep& rsp,
                                                                       const TextPairs& pairs) {
  if (state_ == State::kOperational) return OnOperational(rsp, pairs);

  // Security stage: non-security keys (TargetPortalGroupTag, TargetAlias...)
  // go to the negotiator; its answers ride on the next request.
  TextPairs others;
  for (const TextPair& p : pairs) {
    if (!IsSecurityKey(p.key)) others.push_back(p);
  }
  auto replies = negotiator_.ApplyResponse(others);
  if (!replies.ok()) return FailStep(LoginFailure::kNegotiationFailed, replies.status().message());
  pending_replies_.insert(pending_replies_.end(), replies->begin(), replies->end());

  switch (state_) {
    case State::kSecurityAuthMethod:
      return OnAuthMethod(rsp, pairs);
    case State::kSecurityChapAlgorithm:
      return OnChapChallenge(rsp, pairs);
    case State::kSecurityChapResponse:
      return OnChapVerdict(rsp, pairs);
    case State::kSecurityTransit:
      if (HasChapChallengeKeys(pairs) || FindValue(pairs, "AuthMethod") != nullptr) {
        return FailStep(LoginFailure::kProtocolError,
                        "login: security keys after authentication finished");
      }
      if (rsp.transit) return std::optional<LoginRequestStep>(EnterOperational());
      return std::optional<LoginRequestStep>(AskTransitToOperational());
    default:
      return FailStep(LoginFailure::kProtocolError, "login: response in an unexpected state");
  }
}

LoginRequestStep LoginMachine::AskTransitToOperational() {
  state_ = State::kSecurityTransit;
  return Send(kStageSecurityNegotiation, kStageLoginOperationalNegotiation, true, TakeReplies({}));
}

LoginRequestStep LoginMachine::EnterOperational() {
  state_ = State::kOperational;
  return Send(kStageLoginOperationalNegotiation, kStageFullFeaturePhase, true,
              TakeReplies(negotiator_.TakeOffer()));
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::OnAuthMethod(
    const LoginResponseStep& rsp, const TextPairs& pairs) {
  const std::string* method = FindValue(pairs, "AuthMethod");
  if (HasChapChallengeKeys(pairs)) {
    return FailStep(LoginFailure::kProtocolError, "login: CHAP keys before AuthMethod=CHAP");
  }
  if (method == nullptr) {
    if (chap_.has_value()) {
      return FailStep(LoginFailure::kProtocolError, "login: target did not answer AuthMethod");
    }
    // AuthMethod=None needs no answer to be in force.
    if (rsp.transit) return std::optional<LoginRequestStep>(EnterOperational());
    return std::optional<LoginRequestStep>(AskTransitToOperational());
  }
  if (*method == "None" && offered_none_) {
    if (rsp.transit) return std::optional<LoginRequestStep>(EnterOperational());
    return std::optional<LoginRequestStep>(AskTransitToOperational());
  }
  if (*method == "CHAP" && chap_.has_value()) {
    if (rsp.transit) {
      return FailStep(LoginFailure::kProtocolError, "login: target transited before CHAP");
    }
    state_ = State::kSecurityChapAlgorithm;
    return std::optional<LoginRequestStep>(Send(kStageSecurityNegotiation,
                                                kStageLoginOperationalNegotiation, false,
                                                TakeReplies(chap_->AlgorithmOffer())));
  }
  if (!chap_.has_value()) {
    return FailStep(LoginFailure::kChapNotConfigured,
                    absl::StrCat("login: the target requires authentication (AuthMethod=", *method,
                                 ") but no CHAP credentials are configured"));
  }
  if (*method == "Reject") {
    return FailStep(LoginFailure::kNegotiationFailed,
                    absl::StrCat("login: the target rejected AuthMethod=",
                                 offered_none_ ? "CHAP,None" : "CHAP"));
  }
  return FailStep(LoginFailure::kNegotiationFailed,
                  absl::StrCat("login: the target chose AuthMethod=", method->substr(0, 64),
                               ", which we did not offer"));
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::OnChapChallenge(
    const LoginResponseStep& rsp, const TextPairs& pairs) {
  (void)rsp;
  const std::string* a = FindValue(pairs, "CHAP_A");
  const std::string* i = FindValue(pairs, "CHAP_I");
  const std::string* c = FindValue(pairs, "CHAP_C");
  if (a != nullptr && (*a == "Reject" || *a == "NotUnderstood")) {
    return FailStep(LoginFailure::kNegotiationFailed,
                    absl::StrCat("login: the target refused CHAP_A=5 (MD5) with ", *a));
  }
  if (a == nullptr || i == nullptr || c == nullptr) {
    return FailStep(LoginFailure::kProtocolError,
                    "login: CHAP challenge lacks CHAP_A, CHAP_I or CHAP_C");
  }
  auto answer = chap_->OnChallenge(*a, *i, *c);
  if (!answer.ok()) {
    LoginFailure f = LoginFailure::kProtocolError;
    if (answer.status().code() == absl::StatusCode::kUnimplemented) {
      f = LoginFailure::kNegotiationFailed;
    } else if (answer.status().code() == absl::StatusCode::kPermissionDenied) {
      f = LoginFailure::kMutualAuthFailed;
    }
    return FailStep(f, absl::StrCat("login: ", answer.status().message()));
  }
  state_ = State::kSecurityChapResponse;
  return std::optional<LoginRequestStep>(Send(
      kStageSecurityNegotiation, kStageLoginOperationalNegotiation, true, TakeReplies(*answer)));
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::OnChapVerdict(
    const LoginResponseStep& rsp, const TextPairs& pairs) {
  if (HasChapChallengeKeys(pairs) || FindValue(pairs, "AuthMethod") != nullptr) {
    return FailStep(LoginFailure::kProtocolError, "login: a second CHAP challenge from the target");
  }
  const std::string* n = FindValue(pairs, "CHAP_N");
  const std::string* r = FindValue(pairs, "CHAP_R");
  if (chap_->mutual()) {
    if (n == nullptr || r == nullptr) {
      if (rsp.transit) {
        return FailStep(LoginFailure::kMutualAuthFailed,
                        "login: the target moved on without answering our CHAP challenge");
      }
      // Still waiting for its answer.
      return std::optional<LoginRequestStep>(Send(
          kStageSecurityNegotiation, kStageLoginOperationalNegotiation, true, TakeReplies({})));
    }
    if (auto s = chap_->VerifyTargetResponse(*n, *r); !s.ok()) {
      return FailStep(LoginFailure::kMutualAuthFailed, absl::StrCat("login: ", s.message()));
    }
  } else if (n != nullptr || r != nullptr) {
    return FailStep(LoginFailure::kProtocolError,
                    "login: CHAP_N/CHAP_R from the target without our challenge");
  }
  if (rsp.transit) return std::optional<LoginRequestStep>(EnterOperational());
  return std::optional<LoginRequestStep>(AskTransitToOperational());
}

absl::StatusOr<std::optional<LoginRequestStep>> LoginMachine::OnOperational(
    const LoginResponseStep& rsp, const TextPairs& pairs) {
  for (const TextPair& p : pairs) {
    if (IsSecurityKey(p.key)) {
      return FailStep(LoginFailure::kProtocolError,
                      absl::StrCat("login: ", p.key, " in the operational stage"));
    }
  }
  auto replies = negotiator_.ApplyResponse(pairs);
  if (!replies.ok()) return FailStep(LoginFailure::kNegotiationFailed, replies.status().message());
  if (!rsp.transit) {
    return std::optional<LoginRequestStep>(Send(
        kStageLoginOperationalNegotiation, kStageFullFeaturePhase, true, TakeReplies(*replies)));
  }
  if (!replies->empty()) {
    LOG(WARNING) << "login: target proposed keys while moving to full feature phase; "
                 << replies->size() << " answers dropped";
  }
  if (auto s = negotiator_.Finish(); !s.ok()) {
    return FailStep(LoginFailure::kNegotiationFailed, s.message());
  }
  if (rsp.tsih == 0 && config_.session_type == SessionType::kNormal) {
    return FailStep(LoginFailure::kProtocolError, "login: final response with TSIH 0");
  }
  if (config_.tsih != 0 && rsp.tsih != config_.tsih) {
    return FailStep(
        LoginFailure::kProtocolError,
        absl::StrFormat("login: target answered TSIH %u for session %u", rsp.tsih, config_.tsih));
  }
  state_ = State::kFullFeature;
  return std::optional<LoginRequestStep>();
}

}  // namespace isergw::iscsi
