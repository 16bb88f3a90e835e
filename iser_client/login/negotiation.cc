#include "iser_client/login/negotiation.h"

#include <glog/logging.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace isergw::iscsi {

absl::string_view DigestName(Digest d) { return d == Digest::kCrc32c ? "CRC32C" : "None"; }

// The RFC 7143 result functions (section 6.2.2) plus "declarative" (each
// side states its own value; no answer).
enum class Kind : uint8_t { kDigestList, kMin, kMax, kAnd, kOr, kDeclarative };

using Setter = void (*)(SessionParams&, uint64_t);

struct KeySpec {
  absl::string_view name;
  Kind kind;
  uint64_t lo, hi, def;
  Setter set;       // the negotiated value (declaratives: the target's value)
  Setter set_ours;  // declaratives only: our declared value
  bool discovery;   // relevant in Discovery sessions
  bool iser_only;   // RFC 7145 key: irrelevant unless RDMAExtensions=Yes
  bool tcp_only;    // replaced by an iSER key when RDMAExtensions=Yes
};

namespace {

constexpr uint64_t kMaxSegment = (1u << 24) - 1;

#define ISERGW_SET(field) \
  [](SessionParams& p, uint64_t v) { p.field = static_cast<decltype(p.field)>(v); }

const KeySpec kSpecs[] = {
    {"HeaderDigest", Kind::kDigestList, 0, 1, 0, ISERGW_SET(header_digest), nullptr, true, false,
     true},
    {"DataDigest", Kind::kDigestList, 0, 1, 0, ISERGW_SET(data_digest), nullptr, true, false, true},
    {"MaxRecvDataSegmentLength", Kind::kDeclarative, 512, kMaxSegment, 8192,
     ISERGW_SET(target_max_recv_data_segment_length), ISERGW_SET(max_recv_data_segment_length),
     true, false, true},
    {"MaxConnections", Kind::kMin, 1, 65535, 1, ISERGW_SET(max_connections), nullptr, false, false,
     false},
    {"InitialR2T", Kind::kOr, 0, 1, 1, ISERGW_SET(initial_r2t), nullptr, false, false, false},
    {"ImmediateData", Kind::kAnd, 0, 1, 1, ISERGW_SET(immediate_data), nullptr, false, false,
     false},
    {"MaxBurstLength", Kind::kMin, 512, kMaxSegment, 262144, ISERGW_SET(max_burst_length), nullptr,
     false, false, false},
    {"FirstBurstLength", Kind::kMin, 512, kMaxSegment, 65536, ISERGW_SET(first_burst_length),
     nullptr, false, false, false},
    {"DefaultTime2Wait", Kind::kMax, 0, 3600, 2, ISERGW_SET(default_time2wait), nullptr, false,
     false, false},
    {"DefaultTime2Retain", Kind::kMin, 0, 3600, 20, ISERGW_SET(default_time2retain), nullptr, false,
     false, false},
    {"MaxOutstandingR2T", Kind::kMin, 1, 65535, 1, ISERGW_SET(max_outstanding_r2t), nullptr, false,
     false, false},
    {"DataPDUInOrder", Kind::kOr, 0, 1, 1, ISERGW_SET(data_pdu_in_order), nullptr, false, false,
     false},
    {"DataSequenceInOrder", Kind::kOr, 0, 1, 1, ISERGW_SET(data_sequence_in_order), nullptr, false,
     false, false},
    {"ErrorRecoveryLevel", Kind::kMin, 0, 2, 0, ISERGW_SET(error_recovery_level), nullptr, false,
     false, false},
    {"RDMAExtensions", Kind::kAnd, 0, 1, 0, ISERGW_SET(rdma_extensions), nullptr, false, false,
     false},
    // The target's answer to our receive size is informational: our buffers
    // are sized by what we declared.
    {"InitiatorRecvDataSegmentLength", Kind::kDeclarative, 512, kMaxSegment, 8192, nullptr,
     ISERGW_SET(initiator_recv_data_segment_length), false, true, false},
    {"TargetRecvDataSegmentLength", Kind::kDeclarative, 512, kMaxSegment, 8192,
     ISERGW_SET(target_recv_data_segment_length), nullptr, false, true, false},
    {"MaxOutstandingUnexpectedPDUs", Kind::kDeclarative, 0, 0xffffffffu, 0,
     ISERGW_SET(max_outstanding_unexpected_pdus), nullptr, false, true, false},
};

#undef ISERGW_SET

constexpr absl::string_view kReject = "Reject";
constexpr absl::string_view kIrrelevant = "Irrelevant";
constexpr absl::string_view kNotUnderstood = "NotUnderstood";

// RFC 7143 6.1 numerical-value: decimal, or hex with a 0x prefix.
absl::StatusOr<uint64_t> ParseNumber(absl::string_view key, absl::string_view s) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat("%s=%s: not a number", key, s.substr(0, 64)));
  };
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    absl::string_view hex = s.substr(2);
    if (hex.size() > 16) return bad();
    uint64_t v = 0;
    for (char c : hex) {
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return bad();
      v = v * 16 + d;
    }
    return v;
  }
  uint64_t v = 0;
  if (s.empty() || s.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(s, &v)) {
    return bad();
  }
  return v;
}

absl::StatusOr<bool> ParseBool(absl::string_view key, absl::string_view s) {
  if (s == "Yes") return true;
  if (s == "No") return false;
  return absl::InvalidArgumentError(
      absl::StrFormat("%s=%s: expected Yes or No", key, s.substr(0, 64)));
}

std::optional<Digest> ParseDigest(absl::string_view s) {
  if (s == "None") return Digest::kNone;
  if (s == "CRC32C") return Digest::kCrc32c;
  return std::nullopt;
}

std::string BoolText(uint64_t v) { return v ? "Yes" : "No"; }

std::string DigestListText(const std::vector<Digest>& list) {
  std::string out;
  for (Digest d : list) {
    if (!out.empty()) out += ',';
    absl::StrAppend(&out, DigestName(d));
  }
  return out;
}

absl::Status CheckRange(const KeySpec& spec, absl::string_view value, uint64_t v) {
  if (v < spec.lo || v > spec.hi) {
    return absl::OutOfRangeError(
        absl::StrFormat("%s=%s: out of range %u..%u", spec.name, value, spec.lo, spec.hi));
  }
  if (spec.name == "MaxOutstandingUnexpectedPDUs" && v == 1) {
    return absl::OutOfRangeError("MaxOutstandingUnexpectedPDUs=1: must be 0 or at least 2");
  }
  return absl::OkStatus();
}

absl::Status CheckOption(absl::string_view name, uint64_t v, uint64_t lo, uint64_t hi) {
  if (v < lo || v > hi) {
    return absl::InvalidArgumentError(
        absl::StrFormat("negotiation option %s=%u out of range %u..%u", name, v, lo, hi));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OperationalNegotiator> OperationalNegotiator::Create(const NegotiationOptions& o,
                                                                    SessionType session_type) {
  struct {
    absl::string_view name;
    uint64_t v, lo, hi;
  } const checks[] = {
      {"MaxRecvDataSegmentLength", o.max_recv_data_segment_length, 512, kMaxSegment},
      {"MaxBurstLength", o.max_burst_length, 512, kMaxSegment},
      {"FirstBurstLength", o.first_burst_length, 512, o.max_burst_length},
      {"MaxOutstandingR2T", o.max_outstanding_r2t, 1, 65535},
      {"DefaultTime2Wait", o.default_time2wait, 0, 3600},
      {"DefaultTime2Retain", o.default_time2retain, 0, 3600},
      {"ErrorRecoveryLevel", o.error_recovery_level, 0, 2},
      {"MaxConnections", o.max_connections, 1, 65535},
      {"InitiatorRecvDataSegmentLength", o.initiator_recv_data_segment_length, 512, kMaxSegment},
      {"TargetRecvDataSegmentLength", o.target_recv_data_segment_length, 512, kMaxSegment},
  };
  for (const auto& c : checks) {
    if (auto s = CheckOption(c.name, c.v, c.lo, c.hi); !s.ok()) return s;
  }
  if (o.max_outstanding_unexpected_pdus == 1) {
    return absl::InvalidArgumentError(
        "negotiation option MaxOutstandingUnexpectedPDUs=1: use 0 or >= 2");
  }
  if (!o.iser && (o.header_digests.empty() || o.data_digests.empty())) {
    return absl::InvalidArgumentError("negotiation options: empty digest preference list");
  }
  return OperationalNegotiator(o, session_type);
}

OperationalNegotiator::OperationalNegotiator(const NegotiationOptions& o, SessionType session_type)
    : options_(o), session_type_(session_type) {
  for (const KeySpec& spec : kSpecs) {
    Entry e;
    e.spec = &spec;
    const absl::string_view n = spec.name;
    if (n == "HeaderDigest")
      e.digests = o.iser ? std::vector{Digest::kNone} : o.header_digests;
    else if (n == "DataDigest")
      e.digests = o.iser ? std::vector{Digest::kNone} : o.data_digests;
    else if (n == "MaxRecvDataSegmentLength")
      e.ours = o.max_recv_data_segment_length;
    else if (n == "MaxConnections")
      e.ours = o.max_connections;
    else if (n == "InitialR2T")
      e.ours = o.initial_r2t;
    else if (n == "ImmediateData")
      e.ours = o.immediate_data;
    else if (n == "MaxBurstLength")
      e.ours = o.max_burst_length;
    else if (n == "FirstBurstLength")
      e.ours = o.first_burst_length;
    else if (n == "DefaultTime2Wait")
      e.ours = o.default_time2wait;
    else if (n == "DefaultTime2Retain")
      e.ours = o.default_time2retain;
    else if (n == "MaxOutstandingR2T")
      e.ours = o.max_outstanding_r2t;
    else if (n == "DataPDUInOrder")
      e.ours = o.data_pdu_in_order;
    else if (n == "DataSequenceInOrder")
      e.ours = o.data_sequence_in_order;
    else if (n == "ErrorRecoveryLevel")
      e.ours = o.error_recovery_level;
    else if (n == "RDMAExtensions")
      e.ours = o.iser;
    else if (n == "InitiatorRecvDataSegmentLength")
      e.ours = o.initiator_recv_data_segment_length;
    else if (n == "TargetRecvDataSegmentLength")
      e.ours = o.target_recv_data_segment_length;
    else if (n == "MaxOutstandingUnexpectedPDUs")
      e.ours = o.max_outstanding_unexpected_pdus;
    e.wanted = Relevant(e);
    if (n == "MaxOutstandingUnexpectedPDUs" && e.ours == 0) e.wanted = false;  // 0 is the default
    if (n == "RDMAExtensions" && !o.iser) e.wanted = false;                    // No is the default
    entries_.push_back(std::move(e));
  }
}

bool OperationalNegotiator::Relevant(const Entry& e) const {
  // A Discovery session over iSER carries the iSER key set as well (LIO
  // holds its login until the initiator sends TargetRecvDataSegmentLength).
  const bool iser_key = e.spec->iser_only || e.spec->name == "RDMAExtensions";
  if (session_type_ == SessionType::kDiscovery && !e.spec->discovery &&
      !(options_.iser && iser_key)) {
    return false;
  }
  if (e.spec->iser_only && !options_.iser) return false;
  if (e.spec->tcp_only && options_.iser && e.spec->kind == Kind::kDeclarative) return false;
  return true;
}

OperationalNegotiator::Entry* OperationalNegotiator::Find(absl::string_view key) {
  for (Entry& e : entries_) {
    if (e.spec->name == key) return &e;
  }
  return nullptr;
}

void OperationalNegotiator::SetDefault(Entry& e) {
  if (e.spec->set != nullptr) e.spec->set(params_, e.spec->def);
  e.outcome = Outcome::kDefaulted;
}

TextPairs OperationalNegotiator::TakeOffer() {
  TextPairs out;
  for (Entry& e : entries_) {
    if (!e.wanted || e.state != KeyState::kNotOffered) continue;
    const KeySpec& s = *e.spec;
    std::string value;
    switch (s.kind) {
      case Kind::kDigestList:
        value = DigestListText(e.digests);
        break;
      case Kind::kAnd:
      case Kind::kOr:
        value = BoolText(e.ours);
        break;
      case Kind::kDeclarative:
        if (s.set_ours != nullptr) s.set_ours(params_, e.ours);
        [[fallthrough]];
      case Kind::kMin:
      case Kind::kMax:
        value = absl::StrCat(e.ours);
        break;
    }
    e.state = KeyState::kOffered;
    out.push_back(TextPair{std::string(s.name), std::move(value)});
  }
  return out;
}

absl::Status OperationalNegotiator::ApplyTargetDeclaration(Entry& e, absl::string_view value) {
  const KeySpec& s = *e.spec;
  if (e.target_declared) {
    return absl::InvalidArgumentError(absl::StrCat(s.name, "=", value, ": declared twice"));
  }
  if (value == kReject || value == kIrrelevant || value == kNotUnderstood) {
    // Nothing declared: the default stays in force.
    e.target_declared = true;
    return absl::OkStatus();
  }
  auto v = ParseNumber(s.name, value);
  if (!v.ok()) return v.status();
  if (auto st = CheckRange(s, value, *v); !st.ok()) return st;
  e.target_declared = true;
  if (s.set != nullptr) s.set(params_, *v);
  return absl::OkStatus();
}

absl::Status OperationalNegotiator::ApplyAnswer(Entry& e, absl::string_view value) {
  const KeySpec& s = *e.spec;
  e.state = KeyState::kDone;
  if (value == kNotUnderstood) {
    if (s.name == "RDMAExtensions" && session_type_ == SessionType::kNormal) {
      return absl::FailedPreconditionError(
          "RDMAExtensions=NotUnderstood: the target does not support iSER");
    }
    if (s.iser_only || s.name == "RDMAExtensions") {  // optional iSER extras (older targets
                                                      // lack them), or a Discovery session
      SetDefault(e);
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(
        absl::StrCat(s.name, "=NotUnderstood: a standard key must be understood by the target"));
  }
  if (value == kReject || value == kIrrelevant) {
    if (s.name == "RDMAExtensions" && session_type_ == SessionType::kNormal) {
      return absl::FailedPreconditionError(
          absl::StrCat("RDMAExtensions=", value, ": the target refused iSER"));
    }
    if (s.kind == Kind::kDigestList &&
        std::find(e.digests.begin(), e.digests.end(), Digest::kNone) == e.digests.end()) {
      return absl::FailedPreconditionError(absl::StrCat(s.name, "=", value, ": the target refused ",
                                                        DigestListText(e.digests),
                                                        " and None was not acceptable"));
    }
    LOG(WARNING) << "login: target answered " << s.name << "=" << value << "; using the default";
    SetDefault(e);
    return absl::OkStatus();
  }
  switch (s.kind) {
    case Kind::kDigestList: {
      std::optional<Digest> d = ParseDigest(value);
      if (!d || std::find(e.digests.begin(), e.digests.end(), *d) == e.digests.end()) {
        return absl::InvalidArgumentError(absl::StrCat(s.name, "=", value.substr(0, 64),
                                                       ": not one of the offered ",
                                                       DigestListText(e.digests)));
      }
      s.set(params_, static_cast<uint64_t>(*d));
      break;
    }
    case Kind::kAnd:
    case Kind::kOr: {
      auto b = ParseBool(s.name, value);
      if (!b.ok()) return b.status();
      if (s.kind == Kind::kAnd && !e.ours && *b) {
        return absl::InvalidArgumentError(
            absl::StrCat(s.name, "=Yes: we offered No and the result function is AND"));
      }
      if (s.kind == Kind::kOr && e.ours && !*b) {
        return absl::InvalidArgumentError(
            absl::StrCat(s.name, "=No: we offered Yes and the result function is OR"));
      }
      // A Discovery session needs no RDMA data movement: LIO answers No
      // there, and its Text responses still arrive as iSER Sends.
      if (s.name == "RDMAExtensions" && !*b && session_type_ == SessionType::kNormal) {
        return absl::FailedPreconditionError("RDMAExtensions=No: the target refused iSER");
      }
      s.set(params_, *b);
      break;
    }
    case Kind::kMin:
    case Kind::kMax: {
      auto v = ParseNumber(s.name, value);
      if (!v.ok()) return v.status();
      if (auto st = CheckRange(s, value, *v); !st.ok()) return st;
      if (s.kind == Kind::kMin && *v > e.ours) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s=%s: above the offered %u (the result function is Min)", s.name, value, e.ours));
      }
      if (s.kind == Kind::kMax && *v < e.ours) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s=%s: below the offered %u (the result function is Max)", s.name, value, e.ours));
      }
      s.set(params_, *v);
      break;
    }
    case Kind::kDeclarative:
      break;  // handled by the caller
  }
  e.outcome = Outcome::kAnswered;
  return absl::OkStatus();
}

absl::StatusOr<std::string> OperationalNegotiator::AnswerProposal(Entry& e,
                                                                  absl::string_view value) {
  const KeySpec& s = *e.spec;
  e.state = KeyState::kDone;
  if (!Relevant(e)) {
    SetDefault(e);
    return std::string(kIrrelevant);
  }
  if (value == kReject || value == kIrrelevant || value == kNotUnderstood) {
    return absl::InvalidArgumentError(absl::StrCat(s.name, "=", value, ": not a valid proposal"));
  }
  auto reject = [&](absl::string_view why) -> std::string {
    LOG(WARNING) << "login: rejecting target proposal " << s.name << "=" << value.substr(0, 64)
                 << ": " << why;
    SetDefault(e);
    return std::string(kReject);
  };
  switch (s.kind) {
    case Kind::kDigestList: {
      // The first of the target's choices we accept (RFC 7143 6.2.1).
      for (absl::string_view item : absl::StrSplit(value, ',')) {
        std::optional<Digest> d = ParseDigest(item);
        if (d && std::find(e.digests.begin(), e.digests.end(), *d) != e.digests.end()) {
          s.set(params_, static_cast<uint64_t>(*d));
          e.outcome = Outcome::kAnswered;
          return std::string(DigestName(*d));
        }
      }
      if (std::find(e.digests.begin(), e.digests.end(), Digest::kNone) == e.digests.end()) {
        return absl::FailedPreconditionError(absl::StrCat(s.name, "=", value.substr(0, 64),
                                                          ": none acceptable (we need ",
                                                          DigestListText(e.digests), ")"));
      }
      return reject("no acceptable choice");
    }
    case Kind::kAnd:
    case Kind::kOr: {
      auto b = ParseBool(s.name, value);
      if (!b.ok()) return reject("not Yes/No");
      const bool result = s.kind == Kind::kAnd ? (*b && e.ours) : (*b || e.ours);
      s.set(params_, result);
      e.outcome = Outcome::kAnswered;
      return BoolText(result);
    }
    case Kind::kMin:
    case Kind::kMax: {
      auto v = ParseNumber(s.name, value);
      if (!v.ok()) return reject("not a number");
      if (!CheckRange(s, value, *v).ok()) return reject("out of range");
      const uint64_t result = s.kind == Kind::kMin ? std::min(*v, e.ours) : std::max(*v, e.ours);
      s.set(params_, result);
      e.outcome = Outcome::kAnswered;
      return absl::StrCat(result);
    }
    case Kind::kDeclarative:
      break;
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<TextPairs> OperationalNegotiator::ApplyResponse(const TextPairs& pairs) {
  TextPairs replies;
  for (const TextPair& p : pairs) {
    const absl::string_view key = p.key;
    const absl::string_view value = p.value;
    if (key == "TargetPortalGroupTag") {
      if (target_declared_tpgt_)
        return absl::InvalidArgumentError("TargetPortalGroupTag sent twice");
      auto v = ParseNumber(key, value);
      if (!v.ok()) return v.status();
      if (*v > 0xffff) {
        return absl::OutOfRangeError(absl::StrCat("TargetPortalGroupTag=", value, ": above 65535"));
      }
      target_declared_tpgt_ = true;
      params_.target_portal_group_tag = static_cast<uint16_t>(*v);
      continue;
    }
    if (key == "TargetAlias") {
      if (target_declared_alias_) return absl::InvalidArgumentError("TargetAlias sent twice");
      target_declared_alias_ = true;
      params_.target_alias = std::string(value);
      continue;
    }
    // Login keys the target has no business proposing; nothing to answer.
    if (key == "TargetAddress" || key == "TargetName" || key == "InitiatorName" ||
        key == "InitiatorAlias" || key == "SessionType") {
      continue;
    }
    // RFC 3720 markers, obsolete in RFC 7143: decline them in a way old
    // targets understand.
    if (key == "IFMarker" || key == "OFMarker") {
      replies.push_back(TextPair{p.key, "No"});
      continue;
    }
    if (key == "IFMarkInt" || key == "OFMarkInt") {
      replies.push_back(TextPair{p.key, std::string(kReject)});
      continue;
    }
    Entry* e = Find(key);
    if (e == nullptr) {
      replies.push_back(TextPair{p.key, std::string(kNotUnderstood)});
      continue;
    }
    if (e->spec->kind == Kind::kDeclarative) {
      if (auto s = ApplyTargetDeclaration(*e, value); !s.ok()) return s;
      if (value == kNotUnderstood && e->spec->name == "MaxRecvDataSegmentLength") {
        return absl::InvalidArgumentError(
            "MaxRecvDataSegmentLength=NotUnderstood: a standard key must be understood");
      }
      continue;
    }
    switch (e->state) {
      case KeyState::kOffered:
        if (auto s = ApplyAnswer(*e, value); !s.ok()) return s;
        break;
      case KeyState::kNotOffered: {
        auto answer = AnswerProposal(*e, value);
        if (!answer.ok()) return answer.status();
        replies.push_back(TextPair{p.key, *std::move(answer)});
        break;
      }
      case KeyState::kDone:
        return absl::InvalidArgumentError(
            absl::StrCat(key, "=", value.substr(0, 64), ": key negotiated twice"));
    }
  }
  return replies;
}

bool OperationalNegotiator::AllAnswered() const {
  for (const Entry& e : entries_) {
    if (e.state == KeyState::kOffered && e.spec->kind != Kind::kDeclarative) return false;
  }
  return true;
}

absl::Status OperationalNegotiator::Finish() {
  for (Entry& e : entries_) {
    if (e.state != KeyState::kOffered || e.spec->kind == Kind::kDeclarative) continue;
    const KeySpec& s = *e.spec;
    e.state = KeyState::kDone;
    // RFC 7143 6.2.2: the responder may skip the answer when our value alone
    // decides the result (AND with No, OR with Yes).
    if ((s.kind == Kind::kAnd && !e.ours) || (s.kind == Kind::kOr && e.ours)) {
      s.set(params_, e.ours);
      e.outcome = Outcome::kAnswered;
      continue;
    }
    if (s.name == "RDMAExtensions" && session_type_ == SessionType::kNormal) {
      return absl::FailedPreconditionError(
          "RDMAExtensions: the target did not answer; it does not support iSER");
    }
    LOG(WARNING) << "login: target did not answer " << s.name << "; using the default";
    SetDefault(e);
  }
  Entry* first = Find("FirstBurstLength");
  if (first->outcome == Outcome::kDefaulted &&
      params_.first_burst_length > params_.max_burst_length) {
    params_.first_burst_length = params_.max_burst_length;  // a default may not exceed the limit
  }
  const bool first_burst_relevant = params_.immediate_data || !params_.initial_r2t;
  if (session_type_ == SessionType::kNormal && first_burst_relevant &&
      first->outcome == Outcome::kAnswered &&
      params_.first_burst_length > params_.max_burst_length) {
    return absl::InvalidArgumentError(
        absl::StrFormat("FirstBurstLength=%u exceeds MaxBurstLength=%u", params_.first_burst_length,
                        params_.max_burst_length));
  }
  if (options_.iser && session_type_ == SessionType::kNormal && !params_.rdma_extensions) {
    return absl::FailedPreconditionError("iSER requested but RDMAExtensions was not negotiated");
  }
  return absl::OkStatus();
}

}  // namespace isergw::iscsi
