// Login through the session: the PDUs it sends, the parameters it ends with,
// and how each way a login can fail reaches the observer.
#include <gtest/gtest.h>

#include "iser_client/config/exit_codes.h"
#include "tests/unit/session/fake_target.h"

namespace isergw::iscsi::testing {
namespace {

TEST(SessionLoginTest, LoginCompletesWithNegotiatedParams) {
  SessionHarness h;
  h.StartLogin();
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].opcode(), Opcode::kLoginRequest);
  EXPECT_TRUE(sent[0].immediate());
  LoginRequestHeader first = sent[0].AsLogin();
  EXPECT_EQ(first.isid, (Isid{0x80, 0, 0, 0, 0, 1}));
  EXPECT_EQ(first.tsih, 0);
  EXPECT_EQ(first.cmd_sn, 1u);
  EXPECT_EQ(first.cid, 0);
  EXPECT_NE(first.itt, kReservedTag);
  TextPairs keys = sent[0].pairs();
  ASSERT_NE(Find(keys, "InitiatorName"), nullptr);
  EXPECT_EQ(*Find(keys, "InitiatorName"), "iqn.2024-01.org.isergw:test");
  ASSERT_NE(Find(keys, "TargetName"), nullptr);
  EXPECT_EQ(*Find(keys, "TargetName"), "iqn.2024-01.com.example:disk0");
}

TEST(SessionLoginTest, FullLoginNegotiatesParamsAndEntersFullFeature) {
  SessionHarness h;
  TargetLoginAnswers answers;
  answers.overrides = {{"MaxRecvDataSegmentLength", "1024"},
                       {"FirstBurstLength", "4096"},
                       {"MaxBurstLength", "16384"},
                       {"ImmediateData", "No"},
                       {"InitialR2T", "Yes"}};
  answers.tsih = 0x4242;
  ASSERT_TRUE(h.LoginOk(answers));
  const SessionParams& p = h.session().params();
  EXPECT_EQ(p.target_max_recv_data_segment_length, 1024u);
  EXPECT_EQ(p.first_burst_length, 4096u);
  EXPECT_EQ(p.max_burst_length, 16384u);
  EXPECT_FALSE(p.immediate_data);
  EXPECT_TRUE(p.initial_r2t);
  EXPECT_EQ(h.session().tsih(), 0x4242);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
  // The transport learns what we declared we receive.
  EXPECT_TRUE(h.wire().full_feature);
  EXPECT_EQ(h.wire().limits.max_recv_data_segment_length, p.max_recv_data_segment_length);
  EXPECT_FALSE(h.wire().limits.header_digest);
  EXPECT_FALSE(h.wire().limits.data_digest);

  // The first command carries the first CmdSN and acknowledges the last
  // login response's StatSN (100, 101 used by the two responses).
  TestCommand cmd(DataDirection::kNone, 0);
  SentPdu pdu = h.SubmitAndTake(cmd);
  ScsiCommandHeader c = pdu.AsScsiCommand();
  EXPECT_EQ(c.cmd_sn, 1u);
  EXPECT_EQ(c.exp_stat_sn, 102u);
  EXPECT_FALSE(pdu.immediate());
}

struct StatusCase {
  uint8_t status_class;
  uint8_t status_detail;
  FailureKind kind;
};

class SessionLoginStatusTest : public ::testing::TestWithParam<StatusCase> {};

TEST_P(SessionLoginStatusTest, LoginStatusMapsToFailureKindAndObserverHearsOnce) {
  const StatusCase& c = GetParam();
  SessionHarness h;
  h.StartLogin();
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  LoginResponseHeader rsp;
  rsp.csg = kStageSecurityNegotiation;
  rsp.nsg = kStageLoginOperationalNegotiation;
  rsp.itt = sent[0].itt();
  rsp.status_class = c.status_class;
  rsp.status_detail = c.status_detail;
  h.Deliver(rsp);
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(h.observer().login_complete_calls, 1);
  EXPECT_EQ(h.observer().failed_calls, 0);
  EXPECT_FALSE(h.observer().login_status.ok());
  EXPECT_EQ(GetFailureKind(h.observer().login_status), c.kind) << h.observer().login_status;
  EXPECT_EQ(GetFailureKind(h.session().failure()), c.kind);
  EXPECT_TRUE(h.wire().closed);
  // A dead session takes no commands.
  TestCommand cmd(DataDirection::kNone, 0);
  EXPECT_FALSE(h.session().Submit(&cmd.request).ok());
  EXPECT_EQ(cmd.done_calls, 0);
  // Nothing more reaches the observer later (the tick is stopped).
  h.RunFor(absl::Milliseconds(600));
  EXPECT_EQ(h.observer().login_complete_calls, 1);
  EXPECT_EQ(h.observer().failed_calls, 0);
}

INSTANTIATE_TEST_SUITE_P(Statuses, SessionLoginStatusTest,
                         ::testing::Values(StatusCase{2, 1, FailureKind::kAuthFailed},
                                           StatusCase{2, 2, FailureKind::kAuthorizationFailed},
                                           StatusCase{2, 3, FailureKind::kTargetNotFound},
                                           StatusCase{2, 4, FailureKind::kTargetNotFound},
                                           StatusCase{3, 1, FailureKind::kLoginFailed}));

TEST(SessionLoginTest, ConnectFailureReachesObserverOnce) {
  SessionHarness h;
  h.session().Login(Endpoint{"192.0.2.1", 3260});
  ASSERT_NE(h.wire().listener, nullptr);
  absl::Status refused =
      WithFailure(absl::UnavailableError("refused"), FailureKind::kConnectionRefused);
  h.wire().listener->OnConnected(refused);
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(h.observer().login_complete_calls, 1);
  EXPECT_EQ(GetFailureKind(h.observer().login_status), FailureKind::kConnectionRefused);
  EXPECT_TRUE(h.TakeSent().empty());
}

TEST(SessionLoginTest, SilentTargetTimesOutTheLogin) {
  SessionConfig config = SessionHarness::DefaultConfig();
  config.connect_timeout = absl::Milliseconds(100);
  config.login_timeout = absl::Milliseconds(100);
  SessionHarness h(config);
  h.StartLogin();
  ASSERT_EQ(h.TakeSent().size(), 1u);
  EXPECT_TRUE(h.RunUntil([&] { return h.observer().login_complete_calls > 0; }, absl::Seconds(3)));
  EXPECT_EQ(h.observer().login_complete_calls, 1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.observer().login_status)) << h.observer().login_status;
  EXPECT_EQ(GetFailureKind(h.observer().login_status), FailureKind::kTimedOut);
  EXPECT_TRUE(h.wire().closed);
}

TEST(SessionLoginTest, LoginResponseWithWrongIttIsAProtocolError) {
  SessionHarness h;
  h.StartLogin();
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  LoginResponseHeader rsp;
  rsp.transit = true;
  rsp.csg = kStageSecurityNegotiation;
  rsp.nsg = kStageLoginOperationalNegotiation;
  rsp.itt = sent[0].itt() ^ 0x10000;
  h.Deliver(rsp);
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(h.observer().login_complete_calls, 1);
  EXPECT_EQ(GetFailureKind(h.observer().login_status), FailureKind::kProtocol);
}

// After a failed login the same Session may log in again. The login task's
// slot must not be handed out twice (two live tasks with one ITT).
// (Regression: FailAllTasks() released the login slot but left login_itt_
// set, so the next SendLoginRequest() released it again and two commands
// later got the same ITT.)
TEST(SessionLoginTest, LoginAgainAfterFailedLoginKeepsIttsUnique) {
  SessionHarness h;
  h.StartLogin();
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  LoginResponseHeader rsp;
  rsp.itt = sent[0].itt();
  rsp.status_class = 3;
  rsp.status_detail = 1;  // service unavailable: worth retrying
  h.Deliver(rsp);
  ASSERT_EQ(h.session().state(), Session::State::kFailed);

  h.wire().connect_calls = 0;
  h.observer().login_complete_calls = 0;
  ASSERT_TRUE(h.LoginOk());
  ASSERT_EQ(h.wire().transports_created, 2);
  TestCommand a(DataDirection::kNone, 0);
  TestCommand b(DataDirection::kNone, 0);
  TestCommand c(DataDirection::kNone, 0);
  uint32_t itt_a = h.SubmitAndTake(a).itt();
  uint32_t itt_b = h.SubmitAndTake(b).itt();
  uint32_t itt_c = h.SubmitAndTake(c).itt();
  EXPECT_NE(itt_a, itt_b);
  EXPECT_NE(itt_b, itt_c);
  EXPECT_NE(itt_a, itt_c);
  // Each completes only itself.
  h.Deliver(h.Response(itt_b));
  EXPECT_EQ(a.done_calls, 0);
  EXPECT_EQ(b.done_calls, 1);
  EXPECT_EQ(c.done_calls, 0);
}

}  // namespace
}  // namespace isergw::iscsi::testing
