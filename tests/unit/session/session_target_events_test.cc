// What the target starts: Async Messages, Rejects, discovery text exchanges,
// logout, and the connection dying under in-flight commands.
#include <gtest/gtest.h>

#include "iser_client/config/exit_codes.h"
#include "iser_client/login/send_targets.h"
#include "tests/unit/session/fake_target.h"

namespace isergw::iscsi::testing {
namespace {

AsyncMessageHeader Async(SessionHarness& h, uint8_t event) {
  AsyncMessageHeader a;
  a.async_event = event;
  a.parameter2 = 2;
  a.parameter3 = 5;
  a.stat_sn = h.NextStatSn();
  a.exp_cmd_sn = h.exp_cmd_sn;
  a.max_cmd_sn = h.max_cmd_sn;
  return a;
}

LogoutResponseHeader LogoutResponse(SessionHarness& h, uint32_t itt) {
  LogoutResponseHeader r;
  r.itt = itt;
  r.stat_sn = h.NextStatSn();
  r.exp_cmd_sn = h.exp_cmd_sn;
  r.max_cmd_sn = h.max_cmd_sn;
  return r;
}

void ExpectLogoutRequest(const SentPdu& pdu, uint32_t cmd_sn, uint32_t exp_stat_sn) {
  ASSERT_EQ(pdu.opcode(), Opcode::kLogoutRequest);
  EXPECT_TRUE(pdu.immediate());
  LogoutRequestHeader l = pdu.AsLogout();
  EXPECT_EQ(l.reason, 0);  // close the session
  EXPECT_EQ(l.cid, 0);
  EXPECT_NE(l.itt, kReservedTag);
  EXPECT_EQ(l.cmd_sn, cmd_sn);
  EXPECT_EQ(l.exp_stat_sn, exp_stat_sn);
}

TEST(SessionAsyncTest, LogoutRequestEventLogsOutWhenIdle) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  AsyncMessageHeader a = Async(h, 1);
  h.Deliver(a);
  EXPECT_EQ(h.session().stats().async_messages, 1u);
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ExpectLogoutRequest(sent[0], 1, a.stat_sn + 1);
  EXPECT_EQ(h.session().state(), Session::State::kLoggingOut);
  h.Deliver(LogoutResponse(h, sent[0].itt()));
  EXPECT_EQ(h.observer().logged_out_calls, 1);
  EXPECT_EQ(h.session().state(), Session::State::kLoggedOut);
  EXPECT_EQ(h.observer().failed_calls, 0);
}

// The target asks for a logout while a command runs: the session must log
// out once it is idle (RFC 7143 11.9.1: within Parameter3 seconds), not
// forget the request.
TEST(SessionAsyncTest, LogoutRequestEventWhileBusyLogsOutOnceIdle) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kNone, 0);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  h.Deliver(Async(h, 1));
  EXPECT_TRUE(h.TakeSent().empty());  // not while the command runs
  h.Deliver(h.Response(itt));
  EXPECT_EQ(cmd.done_calls, 1);
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].opcode(), Opcode::kLogoutRequest);
  EXPECT_EQ(h.session().state(), Session::State::kLoggingOut);
}

class SessionAsyncDropTest : public ::testing::TestWithParam<uint8_t> {};

TEST_P(SessionAsyncDropTest, DropEventFailsTheSessionAndEveryCommand) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  h.SubmitAndTake(cmd);
  h.Deliver(Async(h, GetParam()));
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(h.observer().failed_calls, 1);
  EXPECT_EQ(GetFailureKind(h.observer().failed_status), FailureKind::kTransport);
  EXPECT_TRUE(absl::IsUnavailable(h.observer().failed_status));
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_FALSE(cmd.status.ok());
  EXPECT_TRUE(h.wire().closed);
}

INSTANTIATE_TEST_SUITE_P(Events, SessionAsyncDropTest, ::testing::Values(2, 3));

TEST(SessionAsyncTest, ScsiEventAndRenegotiateKeepTheSession) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  h.Deliver(Async(h, 0));
  h.Deliver(Async(h, 4));
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
  EXPECT_TRUE(h.TakeSent().empty());
  EXPECT_EQ(h.session().stats().async_messages, 2u);
}

RejectHeader Reject(SessionHarness& h, uint8_t reason) {
  RejectHeader r;
  r.reason = reason;
  r.stat_sn = h.NextStatSn();
  r.exp_cmd_sn = h.exp_cmd_sn;
  r.max_cmd_sn = h.max_cmd_sn;
  return r;
}

TEST(SessionRejectTest, RejectCarryingACommandHeaderFailsThatCommand) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kRead, 512);
  TestCommand b(DataDirection::kRead, 512);
  SentPdu pdu_a = h.SubmitAndTake(a);
  uint32_t itt_b = h.SubmitAndTake(b).itt();
  h.Deliver(Reject(h, 0x09), pdu_a.bhs);  // invalid PDU field
  ASSERT_EQ(a.done_calls, 1);
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ(GetFailureKind(a.status), FailureKind::kProtocol);
  EXPECT_EQ(b.done_calls, 0);
  EXPECT_EQ(h.session().stats().rejects, 1u);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
  h.Deliver(h.Response(itt_b));
  EXPECT_EQ(b.done_calls, 1);
  EXPECT_TRUE(b.status.ok());
}

TEST(SessionRejectTest, RejectWithoutTheRejectedHeaderIsAProtocolError) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kNone, 0);
  h.SubmitAndTake(a);
  std::vector<uint8_t> short_header(20, 0);
  h.Deliver(Reject(h, 0x09), short_header);
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(GetFailureKind(h.observer().failed_status), FailureKind::kProtocol);
  EXPECT_EQ(a.done_calls, 1);
}

SessionConfig DiscoveryConfig() {
  SessionConfig config = SessionHarness::DefaultConfig();
  config.login.session_type = SessionType::kDiscovery;
  config.login.target_name.clear();
  return config;
}

TEST(SessionTextTest, SendTargetsFollowsContinuationAndParsesTheResult) {
  SessionHarness h(DiscoveryConfig());
  ASSERT_TRUE(h.LoginOk());
  int calls = 0;
  absl::StatusOr<std::vector<DiscoveredTarget>> result;
  h.session().SendTargets([&](absl::StatusOr<std::vector<DiscoveredTarget>> r) {
    ++calls;
    result = std::move(r);
  });
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].opcode(), Opcode::kTextRequest);
  TextRequestHeader req = sent[0].AsText();
  EXPECT_TRUE(req.final);
  EXPECT_EQ(req.ttt, kReservedTag);
  EXPECT_EQ(req.cmd_sn, 1u);
  EXPECT_EQ(req.exp_stat_sn, 102u);
  EXPECT_EQ(sent[0].text(), std::string("SendTargets=All\0", 16));

  TextResponseHeader part;
  part.final = false;
  part.itt = req.itt;
  part.ttt = 0x55;
  part.stat_sn = h.NextStatSn();
  part.exp_cmd_sn = 2;
  part.max_cmd_sn = h.max_cmd_sn;
  std::string first = SerializeText(
      {{"TargetName", "iqn.2024-01.com.example:a"}, {"TargetAddress", "10.0.0.1:3260,1"}});
  h.Deliver(part, Bytes(first));
  EXPECT_EQ(calls, 0);
  sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].opcode(), Opcode::kTextRequest);
  TextRequestHeader more = sent[0].AsText();
  EXPECT_TRUE(more.final);
  EXPECT_EQ(more.itt, req.itt);
  EXPECT_EQ(more.ttt, 0x55u);
  EXPECT_EQ(more.cmd_sn, 2u);
  EXPECT_EQ(more.exp_stat_sn, part.stat_sn + 1);
  EXPECT_EQ(more.data_segment_length, 0u);
  EXPECT_TRUE(sent[0].data.empty());

  TextResponseHeader last;
  last.final = true;
  last.itt = req.itt;
  last.ttt = kReservedTag;
  last.stat_sn = h.NextStatSn();
  last.exp_cmd_sn = 3;
  last.max_cmd_sn = h.max_cmd_sn;
  std::string second = SerializeText(
      {{"TargetName", "iqn.2024-01.com.example:b"}, {"TargetAddress", "10.0.0.2:3261,2"}});
  h.Deliver(last, Bytes(second));
  ASSERT_EQ(calls, 1);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ((*result)[0].name, "iqn.2024-01.com.example:a");
  ASSERT_EQ((*result)[0].portals.size(), 1u);
  EXPECT_EQ((*result)[0].portals[0].host, "10.0.0.1");
  EXPECT_EQ((*result)[1].name, "iqn.2024-01.com.example:b");
  ASSERT_EQ((*result)[1].portals.size(), 1u);
  EXPECT_EQ((*result)[1].portals[0].port, 3261);
  EXPECT_EQ((*result)[1].portals[0].portal_group_tag, std::optional<uint16_t>(2));
  EXPECT_TRUE(h.TakeSent().empty());
}

TEST(SessionTextTest, TransportErrorDuringSendTargetsReportsOnce) {
  SessionHarness h(DiscoveryConfig());
  ASSERT_TRUE(h.LoginOk());
  int calls = 0;
  absl::Status status;
  h.session().SendTargets([&](absl::StatusOr<std::vector<DiscoveredTarget>> r) {
    ++calls;
    status = r.status();
  });
  h.wire().listener->OnTransportError(absl::UnavailableError("reset"));
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(status.ok());
}

TEST(SessionLogoutTest, LogoutRequestAndResponse) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kNone, 0);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  ScsiResponseHeader done = h.Response(itt);
  h.Deliver(done);
  h.session().Logout();
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ExpectLogoutRequest(sent[0], 2, done.stat_sn + 1);
  EXPECT_EQ(h.session().state(), Session::State::kLoggingOut);
  EXPECT_EQ(h.observer().logged_out_calls, 0);
  h.Deliver(LogoutResponse(h, sent[0].itt()));
  EXPECT_EQ(h.observer().logged_out_calls, 1);
  EXPECT_EQ(h.observer().failed_calls, 0);
  EXPECT_EQ(h.session().state(), Session::State::kLoggedOut);
  EXPECT_TRUE(h.wire().closed);
  TestCommand after(DataDirection::kNone, 0);
  EXPECT_FALSE(h.session().Submit(&after.request).ok());
  h.RunFor(absl::Milliseconds(600));  // nothing more reaches the observer
  EXPECT_EQ(h.observer().logged_out_calls, 1);
  EXPECT_EQ(h.observer().failed_calls, 0);
}

TEST(SessionLogoutTest, LogoutResponseWithAnotherIttIsStale) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  h.session().Logout();
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  h.Deliver(LogoutResponse(h, sent[0].itt() ^ 0x10000));
  EXPECT_EQ(h.observer().logged_out_calls, 0);
  EXPECT_EQ(h.session().stats().stale_replies, 1u);
  EXPECT_EQ(h.session().state(), Session::State::kLoggingOut);
}

TEST(SessionFailureTest, TransportErrorCompletesEveryCommandExactlyOnce) {
  SessionHarness h;
  TargetLoginAnswers window;
  window.max_cmd_sn = 2;  // the third command waits for the window
  ASSERT_TRUE(h.LoginOk(window));
  TestCommand read(DataDirection::kRead, 1024);
  TestCommand write(DataDirection::kWrite, 1024);
  TestCommand queued(DataDirection::kNone, 0);
  uint32_t itt = h.SubmitAndTake(read).itt();
  h.SubmitAndTake(write);
  ASSERT_TRUE(h.session().Submit(&queued.request).ok());
  std::vector<uint8_t> part(256, 0x11);
  h.Deliver(h.DataIn(itt, 0, 0), part);  // half-done read
  // A callback that submits again must be refused, not re-entered.
  absl::Status resubmit;
  read.on_done = [&](TestCommand& c) { resubmit = h.session().Submit(&c.request); };

  absl::Status reset =
      WithFailure(absl::UnavailableError("connection reset by peer"), FailureKind::kTransport);
  h.wire().listener->OnTransportError(reset);
  for (TestCommand* cmd : {&read, &write, &queued}) {
    EXPECT_EQ(cmd->done_calls, 1);
    EXPECT_FALSE(cmd->status.ok());
  }
  EXPECT_FALSE(resubmit.ok());
  EXPECT_EQ(read.done_calls, 1);
  EXPECT_EQ(h.session().commands_in_flight(), 0u);
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(h.observer().failed_calls, 1);
  EXPECT_EQ(h.observer().failed_status, reset);
  EXPECT_EQ(h.observer().login_complete_calls, 1);
  h.RunFor(absl::Milliseconds(600));
  for (TestCommand* cmd : {&read, &write, &queued}) EXPECT_EQ(cmd->done_calls, 1);
  EXPECT_EQ(h.observer().failed_calls, 1);
}

TEST(SessionFailureTest, AbortFailsCommandsAndClosesTheTransport) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  h.SubmitAndTake(cmd);
  h.session().Abort(absl::CancelledError("user asked"));
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(absl::IsCancelled(cmd.status));
  EXPECT_TRUE(h.wire().closed);
  EXPECT_EQ(h.observer().failed_calls, 1);
  h.session().Abort(absl::CancelledError("again"));
  EXPECT_EQ(h.observer().failed_calls, 1);
  EXPECT_EQ(cmd.done_calls, 1);
}

TEST(SessionFailureTest, UnexpectedOpcodeIsAProtocolError) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kNone, 0);
  h.SubmitAndTake(cmd);
  uint8_t bhs[kBhsSize] = {};
  bhs[0] = 0x01;  // an initiator opcode (SCSI Command) from the target
  h.DeliverRaw(std::span<const uint8_t>(bhs, kBhsSize), {});
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(GetFailureKind(h.observer().failed_status), FailureKind::kProtocol);
  EXPECT_EQ(cmd.done_calls, 1);
}

}  // namespace
}  // namespace isergw::iscsi::testing
