// The iSCSI login phase as a pure state machine (RFC 7143 sections 6.3, 11.12, 11.13).
// No I/O and no PDU layout: the session turns LoginRequestStep into a Login
// Request PDU (adding ISID, TSIH, CID, CmdSN...) and a parsed Login Response
// into LoginResponseStep.
#ifndef ISER_CLIENT_LOGIN_LOGIN_MACHINE_H_
#define ISER_CLIENT_LOGIN_LOGIN_MACHINE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/login/chap.h"
#include "iser_client/login/login_status.h"
#include "iser_client/login/negotiation.h"
#include "iser_client/login/session_params.h"
#include "iser_client/login/text_params.h"
#include "iser_client/pdu/bhs.h"  // the CSG/NSG stage values

namespace isergw::iscsi {

// The login-phase MaxRecvDataSegmentLength both sides assume (RFC 7143 13.12).
inline constexpr uint32_t kLoginDataSegmentLimit = 8192;

struct LoginRequestStep {
  uint8_t csg = 0;
  uint8_t nsg = 0;  // meaningful only with transit
  bool transit = false;
  bool cont = false;
  std::string text;  // key=value\0... (one PDU's data segment)
};

struct LoginResponseStep {
  uint8_t csg = 0;
  uint8_t nsg = 0;
  bool transit = false;
  bool cont = false;
  uint8_t status_class = 0;
  uint8_t status_detail = 0;
  uint16_t tsih = 0;
  std::span<const uint8_t> text;  // this PDU's data segment; copied if needed
};

struct LoginConfig {
  std::string initiator_name;
  std::string initiator_alias;  // optional
  std::string target_name;      // required for Normal, empty for Discovery
  SessionType session_type = SessionType::kNormal;
  std::optional<ChapCredentials> chap;  // none: AuthMethod=None
  NegotiationOptions negotiation;
  std::array<uint8_t, 6> isid{};  // for the session's BHS; not used in the text
  uint16_t tsih = 0;              // 0: new session; else adding a connection
  // The most text we put in one Login Request (the target's login-phase
  // MaxRecvDataSegmentLength); longer texts go out with the C bit.
  uint32_t max_request_data = kLoginDataSegmentLimit;
  // Cap on a response text the target splits over several PDUs.
  size_t max_response_text = kDefaultTextAccumulatorCap;
};

class LoginMachine {
 public:
  enum class State : uint8_t {
    kIdle,                   // Start() not called yet
    kSecurityAuthMethod,     // offered AuthMethod; waiting for the target's choice
    kSecurityChapAlgorithm,  // sent CHAP_A=5; waiting for CHAP_A, CHAP_I, CHAP_C
    kSecurityChapResponse,   // sent CHAP_N/CHAP_R (+ our challenge if mutual); waiting for
                             // the target to accept (and, if mutual, prove itself)
    kSecurityTransit,        // security done on our side; asked to move on; waiting for T=1
    kOperational,            // operational keys offered; answering until the target transits
    kFullFeature,            // login complete; params() and tsih() are final
    kFailed,                 // terminal; failure() says why
  };

  // Validates the configuration (names, CHAP credentials, negotiation options).
  static absl::StatusOr<LoginMachine> Create(LoginConfig config);

  // The first Login Request. Call once.
  absl::StatusOr<LoginRequestStep> Start();

  // Consumes one Login Response. Returns the next request, or std::nullopt when
  // the target moved the connection to full feature phase. Every error carries
  // a LoginFailure (GetLoginFailure(status) or failure()); after an error the
  // machine is kFailed.
  absl::StatusOr<std::optional<LoginRequestStep>> OnResponse(const LoginResponseStep& response);

  State state() const { return state_; }
  bool done() const { return state_ == State::kFullFeature; }
  LoginFailure failure() const { return failure_; }
  // For kRedirectTemporary/kRedirectPermanent: the TargetAddress to reconnect
  // to ("host:port,tpgt"; parse with ParseTargetAddress in send_targets.h).
  const std::string& redirect_address() const { return redirect_address_; }
  // Negotiated parameters; final once done().
  const SessionParams& params() const { return negotiator_.params(); }
  uint16_t tsih() const { return tsih_; }
  const LoginConfig& config() const { return config_; }

 private:
  LoginMachine(LoginConfig config, OperationalNegotiator negotiator,
               std::optional<ChapInitiator> chap)
      : config_(std::move(config)), negotiator_(std::move(negotiator)), chap_(std::move(chap)) {}

  absl::Status Fail(LoginFailure failure, absl::string_view message);
  absl::StatusOr<std::optional<LoginRequestStep>> FailStep(LoginFailure failure,
                                                           absl::string_view message);
  // Queues `text` for (csg, nsg, transit), split to max_request_data, and
  // returns its first PDU.
  LoginRequestStep Send(uint8_t csg, uint8_t nsg, bool transit, std::string text);
  LoginRequestStep NextChunk();
  std::string TakeReplies(const TextPairs& more);

  absl::StatusOr<std::optional<LoginRequestStep>> Dispatch(const LoginResponseStep& rsp,
                                                           const TextPairs& pairs);
  absl::StatusOr<std::optional<LoginRequestStep>> OnAuthMethod(const LoginResponseStep& rsp,
                                                               const TextPairs& pairs);
  absl::StatusOr<std::optional<LoginRequestStep>> OnChapChallenge(const LoginResponseStep& rsp,
                                                                  const TextPairs& pairs);
  absl::StatusOr<std::optional<LoginRequestStep>> OnChapVerdict(const LoginResponseStep& rsp,
                                                                const TextPairs& pairs);
  absl::StatusOr<std::optional<LoginRequestStep>> OnOperational(const LoginResponseStep& rsp,
                                                                const TextPairs& pairs);
  LoginRequestStep EnterOperational();
  LoginRequestStep AskTransitToOperational();

  LoginConfig config_;
  OperationalNegotiator negotiator_;
  std::optional<ChapInitiator> chap_;
  State state_ = State::kIdle;
  LoginFailure failure_ = LoginFailure::kNone;
  std::string redirect_address_;
  uint16_t tsih_ = 0;
  bool offered_none_ = false;

  // The request being sent (possibly in several PDUs).
  uint8_t out_csg_ = 0, out_nsg_ = 0;
  bool out_transit_ = false;
  std::string out_rest_;       // text not yet sent
  bool last_transit_ = false;  // T bit of the last PDU sent
  bool last_cont_ = false;     // C bit of the last PDU sent

  TextAccumulator in_text_;
  TextPairs pending_replies_;  // answers to target proposals, for the next request
  int responses_ = 0;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_LOGIN_MACHINE_H_
