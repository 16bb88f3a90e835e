// Operational key negotiation for the LoginOperationalNegotiation stage
// (RFC 7143 sections 6.2 and 13, RFC 7145 section 6).
#ifndef ISER_CLIENT_LOGIN_NEGOTIATION_H_
#define ISER_CLIENT_LOGIN_NEGOTIATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/login/session_params.h"
#include "iser_client/login/text_params.h"

namespace isergw::iscsi {

// What the initiator proposes. Sizes are validated by OperationalNegotiator::Create.
struct NegotiationOptions {
  // Preference order, most wanted first. Include kNone to accept a target
  // without digests. Ignored for iSER (digests are always None there).
  std::vector<Digest> header_digests = {Digest::kNone};
  std::vector<Digest> data_digests = {Digest::kNone};
  uint32_t max_recv_data_segment_length = 262144;  // 512..2^24-1, declared
  uint32_t max_burst_length = 262144;              // 512..2^24-1
  uint32_t first_burst_length = 65536;             // 512..max_burst_length
  bool immediate_data = true;
  bool initial_r2t = false;
  uint32_t max_outstanding_r2t = 1;  // 1..65535
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  uint32_t default_time2wait = 2;     // 0..3600
  uint32_t default_time2retain = 20;  // 0..3600
  uint32_t error_recovery_level = 0;  // 0..2
  uint32_t max_connections = 1;       // 1..65535

  // iSER (RFC 7145 section 6): offer RDMAExtensions=Yes plus the iSER key
  // set, in Discovery sessions too; a target that does not accept
  // RDMAExtensions=Yes fails a Normal session's login.
  bool iser = false;
  // What our receive buffers hold (declared; sizes the transport's slots).
  uint32_t initiator_recv_data_segment_length = 262144;  // 512..2^24-1
  // Offered as TargetRecvDataSegmentLength (LIO holds the login until the
  // initiator sends the key); what the target answers or declares is what
  // it receives, and bounds what we send.
  uint32_t target_recv_data_segment_length = 8192;  // 512..2^24-1
  // Unexpected PDUs (NOP-In, Async Message, Reject) we can take beyond the
  // responses to our commands: 0 (not sent, no limit) or >= 2.
  uint32_t max_outstanding_unexpected_pdus = 0;
};

// Negotiates the operational keys. Usage:
//   auto n = OperationalNegotiator::Create(options, SessionType::kNormal);
//   text = SerializeText(n->TakeOffer());          // first operational request
//   replies = n->ApplyResponse(target_pairs);      // each target response
//   ... send replies in the next request ...
//   n->Finish();                                   // when the target transits
//   n->params();
class OperationalNegotiator {
 public:
  static absl::StatusOr<OperationalNegotiator> Create(const NegotiationOptions& options,
                                                      SessionType session_type);

  // The keys we propose that were not yet offered, answered or proposed by
  // the target; marks them offered. A Discovery session gets only the keys
  // that matter there (digests and MaxRecvDataSegmentLength).
  TextPairs TakeOffer();

  // Applies the pairs of one (joined) target response: answers to our offers,
  // target declarations and target proposals. Returns the pairs to send back
  // (answers to the target's proposals; NotUnderstood for unknown keys).
  // Errors name the key and the value.
  absl::StatusOr<TextPairs> ApplyResponse(const TextPairs& pairs);

  // Call when the target transits to full feature phase: resolves offers left
  // unanswered and checks cross-key rules (FirstBurstLength <= MaxBurstLength,
  // RDMAExtensions=Yes for iSER).
  absl::Status Finish();

  // True when every offer has an answer.
  bool AllAnswered() const;

  const SessionParams& params() const { return params_; }

 private:
  enum class KeyState : uint8_t { kNotOffered, kOffered, kDone };
  enum class Outcome : uint8_t { kNone, kAnswered, kDefaulted };
  struct Entry {
    const struct KeySpec* spec;
    bool wanted = false;  // offered in this session type
    KeyState state = KeyState::kNotOffered;
    bool target_declared = false;  // declarative keys: the target sent its own
    Outcome outcome = Outcome::kNone;
    uint64_t ours = 0;            // numeric/boolean value we propose
    std::vector<Digest> digests;  // list keys: what we accept, in order
  };

  OperationalNegotiator(const NegotiationOptions& options, SessionType session_type);
  Entry* Find(absl::string_view key);
  absl::Status ApplyAnswer(Entry& e, absl::string_view value);
  absl::StatusOr<std::string> AnswerProposal(Entry& e, absl::string_view value);
  absl::Status ApplyTargetDeclaration(Entry& e, absl::string_view value);
  bool Relevant(const Entry& e) const;
  void SetDefault(Entry& e);

  NegotiationOptions options_;
  SessionType session_type_;
  std::vector<Entry> entries_;
  bool target_declared_tpgt_ = false;
  bool target_declared_alias_ = false;
  SessionParams params_;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_NEGOTIATION_H_
