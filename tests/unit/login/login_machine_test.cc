#include "iser_client/login/login_machine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "iser_client/login/send_targets.h"

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// A scripted Login Response; keeps its text alive for the span.
struct FakeResponse {
  uint8_t csg = 0, nsg = 0;
  bool transit = false, cont = false;
  uint8_t status_class = 0, status_detail = 0;
  uint16_t tsih = 0;
  std::string text;

  LoginResponseStep Step() const {
    return LoginResponseStep{
        csg,
        nsg,
        transit,
        cont,
        status_class,
        status_detail,
        tsih,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())};
  }
};

std::string Text(const TextPairs& pairs) { return SerializeText(pairs); }

std::map<std::string, std::string> Keys(const LoginRequestStep& step) {
  auto pairs = ParseText(step.text);
  EXPECT_TRUE(pairs.ok()) << pairs.status();
  std::map<std::string, std::string> out;
  if (pairs.ok()) {
    for (const TextPair& p : *pairs) out[p.key] = p.value;
  }
  return out;
}

LoginConfig BaseConfig() {
  LoginConfig c;
  c.initiator_name = "iqn.2024-01.org.isergw:host";
  c.target_name = "iqn.2024-01.com.example:disk0";
  c.isid = {0x80, 0, 0, 0, 0, 1};
  c.negotiation.max_recv_data_segment_length = 65536;
  c.negotiation.max_burst_length = 1048576;
  c.negotiation.first_burst_length = 262144;
  return c;
}

LoginMachine Make(const LoginConfig& c) {
  auto m = LoginMachine::Create(c);
  EXPECT_TRUE(m.ok()) << m.status();
  return *std::move(m);
}

// Feeds a response and expects a further request.
LoginRequestStep Next(LoginMachine& m, const FakeResponse& r) {
  auto next = m.OnResponse(r.Step());
  EXPECT_TRUE(next.ok()) << next.status();
  if (!next.ok() || !next->has_value()) {
    ADD_FAILURE() << "expected another request";
    return {};
  }
  return **next;
}

const TextPairs kOperationalAnswers = {{"HeaderDigest", "None"},
                                       {"DataDigest", "None"},
                                       {"MaxRecvDataSegmentLength", "262144"},
                                       {"MaxConnections", "1"},
                                       {"InitialR2T", "Yes"},
                                       {"ImmediateData", "Yes"},
                                       {"MaxBurstLength", "524288"},
                                       {"FirstBurstLength", "65536"},
                                       {"DefaultTime2Wait", "2"},
                                       {"DefaultTime2Retain", "0"},
                                       {"MaxOutstandingR2T", "1"},
                                       {"DataPDUInOrder", "Yes"},
                                       {"DataSequenceInOrder", "Yes"},
                                       {"ErrorRecoveryLevel", "0"}};

void ExpectOperationalRequest(const LoginRequestStep& step) {
  EXPECT_EQ(step.csg, kStageLoginOperationalNegotiation);
  EXPECT_EQ(step.nsg, kStageFullFeaturePhase);
  EXPECT_TRUE(step.transit);
  EXPECT_FALSE(step.cont);
  auto keys = Keys(step);
  EXPECT_EQ(keys["MaxRecvDataSegmentLength"], "65536");
  EXPECT_EQ(keys["MaxBurstLength"], "1048576");
  EXPECT_EQ(keys.count("AuthMethod"), 0u);
}

void FinishOperational(LoginMachine& m, uint16_t tsih = 0x1234) {
  FakeResponse r{1, 3, true, false, 0, 0, tsih, Text(kOperationalAnswers)};
  auto done = m.OnResponse(r.Step());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->has_value());
  EXPECT_TRUE(m.done());
  EXPECT_EQ(m.state(), LoginMachine::State::kFullFeature);
}

TEST(LoginMachineTest, NoAuthentication) {
  LoginMachine m = Make(BaseConfig());
  auto first = m.Start();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->csg, kStageSecurityNegotiation);
  EXPECT_EQ(first->nsg, kStageLoginOperationalNegotiation);
  EXPECT_TRUE(first->transit);
  EXPECT_FALSE(first->cont);
  auto keys = Keys(*first);
  EXPECT_EQ(keys["InitiatorName"], "iqn.2024-01.org.isergw:host");
  EXPECT_EQ(keys["TargetName"], "iqn.2024-01.com.example:disk0");
  EXPECT_EQ(keys["SessionType"], "Normal");
  EXPECT_EQ(keys["AuthMethod"], "None");
  EXPECT_FALSE(m.Start().ok());  // only once

  LoginRequestStep op = Next(m, {0, 1, true, false, 0, 0, 0,
                                 Text({{"TargetPortalGroupTag", "1"}, {"AuthMethod", "None"}})});
  ExpectOperationalRequest(op);
  EXPECT_EQ(m.state(), LoginMachine::State::kOperational);
  FinishOperational(m);
  EXPECT_EQ(m.tsih(), 0x1234);
  const SessionParams& p = m.params();
  EXPECT_EQ(p.target_portal_group_tag, std::optional<uint16_t>(1));
  EXPECT_EQ(p.max_burst_length, 524288u);
  EXPECT_EQ(p.first_burst_length, 65536u);
  EXPECT_EQ(p.target_max_recv_data_segment_length, 262144u);
  EXPECT_EQ(p.max_recv_data_segment_length, 65536u);
  EXPECT_TRUE(p.initial_r2t);
  EXPECT_EQ(p.default_time2retain, 0u);
  // Login over: further responses are errors.
  EXPECT_FALSE(m.OnResponse(FakeResponse{1, 3, true}.Step()).ok());
}

TEST(LoginMachineTest, TargetHoldsSecurityStageThenTransits) {
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  // The target answers but does not transit yet; we keep asking.
  LoginRequestStep again = Next(m, {0, 1, false, false, 0, 0, 0, Text({{"AuthMethod", "None"}})});
  EXPECT_EQ(again.csg, kStageSecurityNegotiation);
  EXPECT_TRUE(again.transit);
  EXPECT_TRUE(again.text.empty());
  LoginRequestStep again2 = Next(m, {0, 1, false, false, 0, 0, 0, ""});
  EXPECT_TRUE(again2.transit);
  ExpectOperationalRequest(Next(m, {0, 1, true, false, 0, 0, 0, ""}));
  FinishOperational(m);
}

TEST(LoginMachineTest, OperationalStageOverSeveralRoundTrips) {
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  Next(m, {0, 1, true, false, 0, 0, 0, ""});
  // First answer: some keys, plus proposals of its own, no transit.
  LoginRequestStep reply = Next(m, {1, 3, false, false, 0, 0, 0,
                                    Text({{"MaxBurstLength", "262144"},
                                          {"X-com.vendor.knob", "3"},
                                          {"DefaultTime2Wait", "4"}})});
  EXPECT_EQ(reply.csg, kStageLoginOperationalNegotiation);
  EXPECT_TRUE(reply.transit);
  auto keys = Keys(reply);
  EXPECT_EQ(keys["X-com.vendor.knob"], "NotUnderstood");
  EXPECT_EQ(keys.size(), 1u);  // DefaultTime2Wait was our offer: an answer, no reply
  // Second round: the rest, then transit.
  FakeResponse last{1, 3, true, false,
                    0, 0, 9,    Text({{"HeaderDigest", "None"}, {"DataDigest", "None"}})};
  auto done = m.OnResponse(last.Step());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->has_value());
  EXPECT_EQ(m.params().max_burst_length, 262144u);
  EXPECT_EQ(m.params().default_time2wait, 4u);
}

TEST(LoginMachineTest, OneWayChap) {
  LoginConfig c = BaseConfig();
  c.chap = ChapCredentials{"alice", "secret", "", ""};
  LoginMachine m = Make(c);
  auto first = m.Start();
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->transit);
  EXPECT_EQ(Keys(*first)["AuthMethod"], "CHAP,None");

  LoginRequestStep alg = Next(m, {0, 1, false, false, 0, 0, 0,
                                  Text({{"TargetPortalGroupTag", "1"}, {"AuthMethod", "CHAP"}})});
  EXPECT_EQ(alg.csg, kStageSecurityNegotiation);
  EXPECT_FALSE(alg.transit);
  EXPECT_EQ(alg.text, Text({{"CHAP_A", "5"}}));
  EXPECT_EQ(m.state(), LoginMachine::State::kSecurityChapAlgorithm);

  LoginRequestStep rsp =
      Next(m, {0, 1, false, false, 0, 0, 0,
               Text({{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "0x010203"}})});
  EXPECT_TRUE(rsp.transit);
  EXPECT_EQ(rsp.nsg, kStageLoginOperationalNegotiation);
  EXPECT_EQ(rsp.text,
            Text({{"CHAP_N", "alice"}, {"CHAP_R", "0x9067fecf94f4c5654f2d992d9b7ce3fd"}}));

  ExpectOperationalRequest(Next(m, {0, 1, true, false, 0, 0, 0, ""}));
  FinishOperational(m);
}

TEST(LoginMachineTest, WrongSecretGivesAuthenticationFailure) {
  LoginConfig c = BaseConfig();
  c.chap = ChapCredentials{"alice", "wrong-secret", "", ""};
  LoginMachine m = Make(c);
  ASSERT_TRUE(m.Start().ok());
  Next(m, {0, 1, false, false, 0, 0, 0, Text({{"AuthMethod", "CHAP"}})});
  Next(m, {0, 1, false, false, 0, 0, 0,
           Text({{"CHAP_A", "5"}, {"CHAP_I", "1"}, {"CHAP_C", "0x010203"}})});
  auto r = m.OnResponse(FakeResponse{0, 0, false, false, 0x02, 0x01}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kAuthenticationFailed);
  EXPECT_EQ(m.failure(), LoginFailure::kAuthenticationFailed);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(Msg(r.status()), HasSubstr("0x0201"));
  EXPECT_EQ(m.state(), LoginMachine::State::kFailed);
}

class MutualChapLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LoginConfig c = BaseConfig();
    c.chap = ChapCredentials{"alice", "initiatorsecret", "target", "targetsecret1"};
    m_.emplace(Make(c));
    auto first = m_->Start();
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(Keys(*first)["AuthMethod"], "CHAP");  // no downgrade to None
    Next(*m_, {0, 1, false, false, 0, 0, 0, Text({{"AuthMethod", "CHAP"}})});
    LoginRequestStep answer =
        Next(*m_, {0, 1, false, false, 0, 0, 0,
                   Text({{"CHAP_A", "5"}, {"CHAP_I", "42"}, {"CHAP_C", "0xdeadbeef"}})});
    auto keys = Keys(answer);
    EXPECT_EQ(keys["CHAP_R"], "0x31dd59b56480c5a6cfa8817c046bf89f");
    ASSERT_EQ(keys.count("CHAP_I"), 1u);
    ASSERT_EQ(keys.count("CHAP_C"), 1u);
    id_ = static_cast<uint8_t>(std::stoi(keys["CHAP_I"]));
    auto challenge = DecodeChapBinary(keys["CHAP_C"]);
    ASSERT_TRUE(challenge.ok());
    EXPECT_GE(challenge->size(), 16u);
    challenge_ = *challenge;
  }

  std::string TargetProof(const std::string& secret) {
    auto r = ChapMd5Response(id_, secret, challenge_);
    EXPECT_TRUE(r.ok());
    return EncodeChapHex(*r);
  }

  std::optional<LoginMachine> m_;
  uint8_t id_ = 0;
  std::vector<uint8_t> challenge_;
};

TEST_F(MutualChapLoginTest, GoodTargetProof) {
  ExpectOperationalRequest(
      Next(*m_, {0, 1, true, false, 0, 0, 0,
                 Text({{"CHAP_N", "target"}, {"CHAP_R", TargetProof("targetsecret1")}})}));
  FinishOperational(*m_);
}

TEST_F(MutualChapLoginTest, BadTargetProof) {
  auto r = m_->OnResponse(
      FakeResponse{0, 1, true, false, 0, 0, 0,
                   Text({{"CHAP_N", "target"}, {"CHAP_R", TargetProof("not-the-secret")}})}
          .Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kMutualAuthFailed);
  EXPECT_THAT(Msg(r.status()), HasSubstr("mutual CHAP"));
}

TEST_F(MutualChapLoginTest, TargetSkipsProof) {
  auto r = m_->OnResponse(FakeResponse{0, 1, true, false, 0, 0, 0, ""}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kMutualAuthFailed);
}

TEST(LoginMachineTest, TargetDemandsChapButNoneConfigured) {
  for (const char* method : {"CHAP", "Reject"}) {
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(
        FakeResponse{0, 1, false, false, 0, 0, 0, Text({{"AuthMethod", method}})}.Step());
    ASSERT_FALSE(r.ok()) << method;
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kChapNotConfigured) << method;
    EXPECT_THAT(Msg(r.status()), HasSubstr("no CHAP credentials"));
  }
  // A target that just fails the login says so with 0x0201; the message hints at CHAP.
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  auto r = m.OnResponse(FakeResponse{0, 0, false, false, 0x02, 0x01}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kAuthenticationFailed);
  EXPECT_THAT(Msg(r.status()), HasSubstr("no CHAP credentials"));
}

TEST(LoginMachineTest, TargetRefusesChapMd5) {
  LoginConfig c = BaseConfig();
  c.chap = ChapCredentials{"alice", "secret", "", ""};
  LoginMachine m = Make(c);
  ASSERT_TRUE(m.Start().ok());
  Next(m, {0, 1, false, false, 0, 0, 0, Text({{"AuthMethod", "CHAP"}})});
  auto r = m.OnResponse(FakeResponse{0, 1, false, false, 0, 0, 0,
                                     Text({{"CHAP_A", "7"}, {"CHAP_I", "1"}, {"CHAP_C", "0x01"}})}
                            .Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kNegotiationFailed);
  EXPECT_THAT(Msg(r.status()), HasSubstr("MD5"));
}

TEST(LoginMachineTest, Redirects) {
  struct Case {
    uint8_t detail;
    LoginFailure failure;
  };
  for (Case c : {Case{0x01, LoginFailure::kRedirectTemporary},
                 Case{0x02, LoginFailure::kRedirectPermanent}}) {
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(FakeResponse{0, 0, false, false, 0x01, c.detail, 0,
                                       Text({{"TargetAddress", "[fd00::9]:3261,3"}})}
                              .Step());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(GetLoginFailure(r.status()), c.failure);
    EXPECT_EQ(m.redirect_address(), "[fd00::9]:3261,3");
    EXPECT_THAT(Msg(r.status()), HasSubstr("[fd00::9]:3261,3"));
    auto portal = ParseTargetAddress(m.redirect_address());
    ASSERT_TRUE(portal.ok());
    EXPECT_EQ(portal->port, 3261);
  }
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  auto r = m.OnResponse(FakeResponse{0, 0, false, false, 0x01, 0x01}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
}

TEST(LoginMachineTest, EveryStatusMapsToItsFailure) {
  struct Case {
    uint8_t cls, detail;
    LoginFailure failure;
  };
  const Case cases[] = {
      {0x02, 0x01, LoginFailure::kAuthenticationFailed},
      {0x02, 0x02, LoginFailure::kAuthorizationFailed},
      {0x02, 0x03, LoginFailure::kTargetNotFound},
      {0x02, 0x04, LoginFailure::kTargetRemoved},
      {0x02, 0x05, LoginFailure::kUnsupportedVersion},
      {0x02, 0x06, LoginFailure::kTooManyConnections},
      {0x02, 0x07, LoginFailure::kMissingParameter},
      {0x02, 0x08, LoginFailure::kCannotIncludeInSession},
      {0x02, 0x09, LoginFailure::kSessionTypeNotSupported},
      {0x02, 0x0a, LoginFailure::kSessionDoesNotExist},
      {0x02, 0x0b, LoginFailure::kInvalidRequestDuringLogin},
      {0x02, 0x0c, LoginFailure::kInitiatorError},
      {0x03, 0x00, LoginFailure::kTargetError},
      {0x03, 0x01, LoginFailure::kServiceUnavailable},
      {0x03, 0x02, LoginFailure::kOutOfResources},
      {0x04, 0x00, LoginFailure::kProtocolError},
  };
  for (const Case& c : cases) {
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(FakeResponse{0, 0, false, false, c.cls, c.detail}.Step());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(GetLoginFailure(r.status()), c.failure) << int(c.cls) << "/" << int(c.detail);
    EXPECT_EQ(m.failure(), c.failure);
    EXPECT_THAT(Msg(r.status()), HasSubstr(std::string(LoginFailureName(c.failure))));
  }
  EXPECT_EQ(GetLoginFailure(absl::NotFoundError("x")), LoginFailure::kNone);
  EXPECT_EQ(GetLoginFailure(absl::OkStatus()), LoginFailure::kNone);
}

TEST(LoginMachineTest, StatusFailureDuringOperationalStage) {
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  Next(m, {0, 1, true, false, 0, 0, 0, ""});
  auto r = m.OnResponse(FakeResponse{0, 0, false, false, 0x03, 0x02}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kOutOfResources);
}

TEST(LoginMachineTest, TargetContinuation) {
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  Next(m, {0, 1, true, false, 0, 0, 0, ""});
  // The answer arrives in three PDUs, split inside pairs.
  const std::string text = Text(kOperationalAnswers);
  const size_t a = 17, b = text.size() / 2 + 3;
  LoginRequestStep e1 = Next(m, {1, 3, false, true, 0, 0, 0, text.substr(0, a)});
  EXPECT_EQ(e1.csg, kStageLoginOperationalNegotiation);
  EXPECT_TRUE(e1.transit);  // still asking to move on
  EXPECT_FALSE(e1.cont);
  EXPECT_TRUE(e1.text.empty());
  LoginRequestStep e2 = Next(m, {1, 3, false, true, 0, 0, 0, text.substr(a, b - a)});
  EXPECT_TRUE(e2.text.empty());
  FakeResponse last{1, 3, true, false, 0, 0, 77, text.substr(b)};
  auto done = m.OnResponse(last.Step());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_FALSE(done->has_value());
  EXPECT_EQ(m.params().max_burst_length, 524288u);
  EXPECT_EQ(m.tsih(), 77);
}

TEST(LoginMachineTest, InitiatorContinuation) {
  LoginConfig c = BaseConfig();
  c.max_request_data = 512;
  c.initiator_alias = std::string(255, 'a');
  c.target_name = "iqn.2024-01.com.example:" + std::string(190, 't');
  LoginMachine m = Make(c);
  auto first = m.Start();
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->cont);
  EXPECT_FALSE(first->transit);  // T must be 0 while C is 1
  EXPECT_EQ(first->text.size(), 512u);
  std::string whole = first->text;
  // The target acknowledges each piece with an empty response.
  LoginRequestStep second = Next(m, {0, 1, false, false, 0, 0, 0, ""});
  EXPECT_FALSE(second.cont);
  EXPECT_TRUE(second.transit);
  whole += second.text;
  auto pairs = ParseText(whole);
  ASSERT_TRUE(pairs.ok()) << pairs.status();
  EXPECT_EQ(*FindValue(*pairs, "InitiatorAlias"), std::string(255, 'a'));
  EXPECT_EQ(*FindValue(*pairs, "AuthMethod"), "None");
  // A target that answers before the request is complete is broken.
  LoginMachine m2 = Make(c);
  ASSERT_TRUE(m2.Start().ok());
  auto r = m2.OnResponse(
      FakeResponse{0, 1, false, false, 0, 0, 0, Text({{"AuthMethod", "None"}})}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
}

TEST(LoginMachineTest, HostileEndlessContinuationIsCapped) {
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  const std::string chunk(8192, 'A');
  absl::Status status;
  for (int i = 0; i < 20 && status.ok(); ++i) {
    status = m.OnResponse(FakeResponse{0, 1, false, true, 0, 0, 0, chunk}.Step()).status();
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(GetLoginFailure(status), LoginFailure::kProtocolError);
  EXPECT_THAT(Msg(status), HasSubstr("exceeds"));
}

TEST(LoginMachineTest, ProtocolViolations) {
  {  // C and T together
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(FakeResponse{0, 1, true, true}.Step());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
  }
  {  // transit although we sent T=0 (CHAP configured)
    LoginConfig c = BaseConfig();
    c.chap = ChapCredentials{"alice", "secret", "", ""};
    LoginMachine m = Make(c);
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(
        FakeResponse{0, 1, true, false, 0, 0, 0, Text({{"AuthMethod", "None"}})}.Step());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
  }
  {  // wrong stage
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(FakeResponse{1, 3, true}.Step());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
  }
  {  // malformed text
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    auto r = m.OnResponse(FakeResponse{0, 1, true, false, 0, 0, 0, "AuthMethod"}.Step());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
  }
  {  // final response without a TSIH
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    Next(m, {0, 1, true, false, 0, 0, 0, ""});
    auto r =
        m.OnResponse(FakeResponse{1, 3, true, false, 0, 0, 0, Text(kOperationalAnswers)}.Step());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
  }
  {  // CHAP keys in the operational stage
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    Next(m, {0, 1, true, false, 0, 0, 0, ""});
    auto r =
        m.OnResponse(FakeResponse{1, 3, false, false, 0, 0, 0, Text({{"CHAP_A", "5"}})}.Step());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
  }
  {  // endless holding in the security stage
    LoginMachine m = Make(BaseConfig());
    ASSERT_TRUE(m.Start().ok());
    absl::Status s;
    for (int i = 0; i < 1000 && s.ok(); ++i) {
      s = m.OnResponse(FakeResponse{0, 1, false, false, 0, 0, 0, ""}.Step()).status();
    }
    EXPECT_EQ(GetLoginFailure(s), LoginFailure::kProtocolError);
  }
}

TEST(LoginMachineTest, NegotiationErrorNamesKey) {
  LoginMachine m = Make(BaseConfig());
  ASSERT_TRUE(m.Start().ok());
  Next(m, {0, 1, true, false, 0, 0, 0, ""});
  auto r = m.OnResponse(
      FakeResponse{1, 3, true, false, 0, 0, 5, Text({{"MaxBurstLength", "2097152"}})}.Step());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kNegotiationFailed);
  EXPECT_THAT(Msg(r.status()), HasSubstr("MaxBurstLength=2097152"));
}

TEST(LoginMachineTest, DiscoverySession) {
  LoginConfig c = BaseConfig();
  c.session_type = SessionType::kDiscovery;
  c.target_name.clear();
  LoginMachine m = Make(c);
  auto first = m.Start();
  ASSERT_TRUE(first.ok());
  auto keys = Keys(*first);
  EXPECT_EQ(keys.count("TargetName"), 0u);
  EXPECT_EQ(keys["SessionType"], "Discovery");
  LoginRequestStep op = Next(m, {0, 1, true, false, 0, 0, 0, ""});
  auto op_keys = Keys(op);
  EXPECT_EQ(op_keys.size(), 3u);
  EXPECT_EQ(op_keys.count("MaxBurstLength"), 0u);
  FakeResponse last{1,
                    3,
                    true,
                    false,
                    0,
                    0,
                    3,
                    Text({{"HeaderDigest", "None"},
                          {"DataDigest", "None"},
                          {"MaxRecvDataSegmentLength", "32768"}})};
  auto done = m.OnResponse(last.Step());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(m.done());
  EXPECT_EQ(m.params().MaxSendDataSegmentLength(), 32768u);
}

TEST(LoginMachineTest, IserLogin) {
  LoginConfig c = BaseConfig();
  c.negotiation.iser = true;
  c.negotiation.initiator_recv_data_segment_length = 262144;
  {
    LoginMachine m = Make(c);
    ASSERT_TRUE(m.Start().ok());
    auto keys = Keys(Next(m, {0, 1, true, false, 0, 0, 0, ""}));
    EXPECT_EQ(keys["RDMAExtensions"], "Yes");
    EXPECT_EQ(keys["InitiatorRecvDataSegmentLength"], "262144");
    FakeResponse last{1,
                      3,
                      true,
                      false,
                      0,
                      0,
                      1,
                      Text({{"RDMAExtensions", "Yes"},
                            {"TargetRecvDataSegmentLength", "65536"},
                            {"MaxBurstLength", "262144"}})};
    auto done = m.OnResponse(last.Step());
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_TRUE(m.params().rdma_extensions);
    EXPECT_EQ(m.params().MaxSendDataSegmentLength(), 65536u);
    EXPECT_EQ(m.params().MaxRecvDataSegmentLength(), 262144u);
  }
  {
    LoginMachine m = Make(c);
    ASSERT_TRUE(m.Start().ok());
    Next(m, {0, 1, true, false, 0, 0, 0, ""});
    auto r = m.OnResponse(
        FakeResponse{1, 3, true, false, 0, 0, 1, Text({{"RDMAExtensions", "No"}})}.Step());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kNegotiationFailed);
    EXPECT_THAT(Msg(r.status()), HasSubstr("iSER"));
  }
}

TEST(LoginMachineTest, RejectsBadConfig) {
  LoginConfig c = BaseConfig();
  c.initiator_name.clear();
  EXPECT_EQ(GetLoginFailure(LoginMachine::Create(c).status()), LoginFailure::kBadConfig);
  c = BaseConfig();
  c.target_name.clear();
  EXPECT_FALSE(LoginMachine::Create(c).ok());
  c = BaseConfig();
  c.chap = ChapCredentials{"alice", "", "", ""};
  EXPECT_FALSE(LoginMachine::Create(c).ok());
  c = BaseConfig();
  c.negotiation.max_burst_length = 100;
  EXPECT_FALSE(LoginMachine::Create(c).ok());
}

TEST(LoginMachineTest, AddingConnectionKeepsTsihAndSkipsSessionType) {
  LoginConfig c = BaseConfig();
  c.tsih = 0x55;
  LoginMachine m = Make(c);
  auto first = m.Start();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Keys(*first).count("SessionType"), 0u);
  Next(m, {0, 1, true, false, 0, 0, 0, ""});
  auto r = m.OnResponse(FakeResponse{1, 3, true, false, 0, 0, 0x56, ""}.Step());
  EXPECT_EQ(GetLoginFailure(r.status()), LoginFailure::kProtocolError);
}

}  // namespace
}  // namespace isergw::iscsi
