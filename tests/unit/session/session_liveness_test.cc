// NOP-In/NOP-Out both ways, and command timeouts escalating through task
// management. Driven by the session's real tick on a uring::EventLoop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "iser_client/config/exit_codes.h"
#include "tests/unit/session/fake_target.h"

namespace isergw::iscsi::testing {
namespace {

using ::testing::HasSubstr;

// Runs the loop until a PDU with `opcode` is sent; returns it (others kept).
std::optional<SentPdu> RunUntilSent(SessionHarness& h, Opcode opcode, absl::Duration timeout) {
  auto find = [&]() -> const SentPdu* {
    for (const SentPdu& p : h.wire().sent) {
      if (p.opcode() == opcode) return &p;
    }
    return nullptr;
  };
  if (!h.RunUntil([&] { return find() != nullptr; }, timeout)) return std::nullopt;
  return *find();
}

TEST(SessionNopTest, TargetNopInWithTttGetsImmediateNopOut) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  NopInHeader ping = h.UnsolicitedNopIn(0x1234);
  ping.lun = 0x0002000000000000ull;
  h.Deliver(ping);
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].opcode(), Opcode::kNopOut);
  EXPECT_TRUE(sent[0].immediate());
  NopOutHeader out = sent[0].AsNopOut();
  EXPECT_EQ(out.itt, kReservedTag);
  EXPECT_EQ(out.ttt, 0x1234u);
  EXPECT_EQ(out.lun, 0x0002000000000000ull);
  EXPECT_EQ(out.cmd_sn, 1u);  // the next CmdSN, not consumed
  EXPECT_EQ(out.exp_stat_sn, 102u);
  EXPECT_TRUE(sent[0].data.empty());
  EXPECT_EQ(h.session().stats().target_nops_answered, 1u);

  // A NOP-In without a TTT wants no answer.
  h.Deliver(h.UnsolicitedNopIn(kReservedTag));
  EXPECT_TRUE(h.TakeSent().empty());
  // The immediate NOP-Out did not use up a CmdSN.
  TestCommand cmd(DataDirection::kNone, 0);
  EXPECT_EQ(h.SubmitAndTake(cmd).AsScsiCommand().cmd_sn, 1u);
}

TEST(SessionNopTest, IdleSessionPingsAndAnAnswerKeepsItAlive) {
  SessionConfig config = SessionHarness::DefaultConfig();
  config.nop_interval = absl::Milliseconds(200);
  config.nop_timeout = absl::Seconds(3);
  SessionHarness h(config);
  ASSERT_TRUE(h.LoginOk());
  std::optional<SentPdu> ping = RunUntilSent(h, Opcode::kNopOut, absl::Seconds(3));
  ASSERT_TRUE(ping.has_value());
  h.TakeSent();
  EXPECT_TRUE(ping->immediate());
  NopOutHeader out = ping->AsNopOut();
  EXPECT_NE(out.itt, kReservedTag);
  EXPECT_EQ(out.ttt, kReservedTag);
  EXPECT_EQ(out.cmd_sn, 1u);
  EXPECT_EQ(out.exp_stat_sn, 102u);
  EXPECT_EQ(h.session().stats().nop_pings, 1u);

  NopInHeader answer;
  answer.itt = out.itt;
  answer.ttt = kReservedTag;
  answer.stat_sn = h.NextStatSn();
  answer.exp_cmd_sn = h.exp_cmd_sn;
  answer.max_cmd_sn = h.max_cmd_sn;
  h.Deliver(answer);
  EXPECT_EQ(h.session().stats().stale_replies, 0u);
  // Answered, so the next idle period brings a new ping, under a new ITT.
  std::optional<SentPdu> second = RunUntilSent(h, Opcode::kNopOut, absl::Seconds(3));
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->itt(), out.itt);
  EXPECT_EQ(second->AsNopOut().exp_stat_sn, answer.stat_sn + 1);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
  EXPECT_EQ(h.observer().failed_calls, 0);
}

TEST(SessionNopTest, UnansweredPingFailsTheSessionWithATimeout) {
  SessionConfig config = SessionHarness::DefaultConfig();
  config.nop_interval = absl::Milliseconds(200);
  config.nop_timeout = absl::Milliseconds(300);
  SessionHarness h(config);
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  h.SubmitAndTake(cmd);
  ASSERT_TRUE(h.RunUntil([&] { return h.observer().failed_calls > 0; }, absl::Seconds(4)));
  EXPECT_GE(h.session().stats().nop_pings, 1u);
  EXPECT_EQ(h.observer().failed_calls, 1);
  const absl::Status& why = h.observer().failed_status;
  EXPECT_TRUE(absl::IsDeadlineExceeded(why)) << why;
  EXPECT_EQ(GetFailureKind(why), FailureKind::kTimedOut);
  EXPECT_THAT(std::string(why.message()), HasSubstr("NOP-Out"));
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_TRUE(h.wire().closed);
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_FALSE(cmd.status.ok());
}

SessionConfig ShortCommandTimeout() {
  SessionConfig config = SessionHarness::DefaultConfig();
  config.command_timeout = absl::Milliseconds(300);
  config.task_mgmt_timeout = absl::Seconds(30);
  return config;
}

TEST(SessionTimeoutTest, TimedOutCommandIsAbortedAndTmfResponseFailsIt) {
  SessionHarness h(ShortCommandTimeout());
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  ScsiCommandHeader issued = h.SubmitAndTake(cmd).AsScsiCommand();
  std::optional<SentPdu> tmf = RunUntilSent(h, Opcode::kTaskMgmtRequest, absl::Seconds(3));
  ASSERT_TRUE(tmf.has_value());
  EXPECT_TRUE(tmf->immediate());
  TaskMgmtRequestHeader t = tmf->AsTaskMgmt();
  EXPECT_EQ(t.function, 1);  // ABORT TASK
  EXPECT_EQ(t.referenced_task_tag, issued.itt);
  EXPECT_EQ(t.ref_cmd_sn, issued.cmd_sn);
  EXPECT_EQ(t.lun, issued.lun);
  EXPECT_NE(t.itt, issued.itt);
  EXPECT_NE(t.itt, kReservedTag);
  EXPECT_EQ(t.cmd_sn, issued.cmd_sn + 1);  // immediate: the next CmdSN
  EXPECT_EQ(h.session().stats().aborts, 1u);
  EXPECT_EQ(cmd.done_calls, 0);

  TaskMgmtResponseHeader rsp;
  rsp.response = 0;  // function complete
  rsp.itt = t.itt;
  rsp.stat_sn = h.NextStatSn();
  rsp.exp_cmd_sn = h.exp_cmd_sn;
  rsp.max_cmd_sn = h.max_cmd_sn;
  h.Deliver(rsp);
  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(absl::IsAborted(cmd.status)) << cmd.status;
  EXPECT_EQ(GetFailureKind(cmd.status), FailureKind::kTimedOut);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
  EXPECT_EQ(h.session().commands_in_flight(), 0u);
  // A late response for the aborted command is stale.
  h.Deliver(h.Response(issued.itt));
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_EQ(h.session().stats().stale_replies, 1u);
}

TEST(SessionTimeoutTest, UnansweredAbortFailsTheSession) {
  SessionConfig config = ShortCommandTimeout();
  config.task_mgmt_timeout = absl::Milliseconds(300);
  SessionHarness h(config);
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  h.SubmitAndTake(cmd);
  ASSERT_TRUE(h.RunUntil([&] { return h.observer().failed_calls > 0; }, absl::Seconds(4)));
  EXPECT_EQ(h.session().stats().aborts, 1u);
  EXPECT_EQ(h.observer().failed_calls, 1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(h.observer().failed_status));
  EXPECT_EQ(GetFailureKind(h.observer().failed_status), FailureKind::kTimedOut);
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_FALSE(cmd.status.ok());
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
}

// The aborted command completes normally before the TMF answer; the answer
// ("task does not exist") must then not fail any other command.
// (Regression: CompleteScsi() cleared the pending TMF's referenced_itt and
// HandleTaskMgmtResponse() took kReservedTag for a LOGICAL UNIT RESET, failing
// every other issued command.)
TEST(SessionTimeoutTest, AbortAnsweredAfterTheCommandFinishedFailsNothingElse) {
  SessionHarness h(ShortCommandTimeout());
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kNone, 0);
  TestCommand b(DataDirection::kNone, 0);
  uint32_t itt_a = h.SubmitAndTake(a).itt();
  uint32_t itt_b = h.SubmitAndTake(b).itt();
  std::optional<SentPdu> tmf = RunUntilSent(h, Opcode::kTaskMgmtRequest, absl::Seconds(3));
  ASSERT_TRUE(tmf.has_value());
  h.TakeSent();
  TaskMgmtRequestHeader t = tmf->AsTaskMgmt();
  ASSERT_EQ(t.function, 1);
  uint32_t aborted = t.referenced_task_tag;
  ASSERT_TRUE(aborted == itt_a || aborted == itt_b);
  TestCommand& victim = aborted == itt_a ? a : b;
  TestCommand& bystander = aborted == itt_a ? b : a;

  h.Deliver(h.Response(aborted));  // the command finished after all
  EXPECT_EQ(victim.done_calls, 1);
  EXPECT_TRUE(victim.status.ok());

  TaskMgmtResponseHeader rsp;
  rsp.response = 1;  // task does not exist
  rsp.itt = t.itt;
  rsp.stat_sn = h.NextStatSn();
  rsp.exp_cmd_sn = h.exp_cmd_sn;
  rsp.max_cmd_sn = h.max_cmd_sn;
  h.Deliver(rsp);
  EXPECT_EQ(victim.done_calls, 1);
  EXPECT_EQ(bystander.done_calls, 0)
      << "ABORT TASK answer failed another command: " << bystander.status;
}

TEST(SessionTimeoutTest, RefusedAbortEscalatesToLogicalUnitReset) {
  SessionHarness h(ShortCommandTimeout());
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  ScsiCommandHeader issued = h.SubmitAndTake(cmd).AsScsiCommand();
  std::optional<SentPdu> abort = RunUntilSent(h, Opcode::kTaskMgmtRequest, absl::Seconds(3));
  ASSERT_TRUE(abort.has_value());
  h.TakeSent();
  TaskMgmtResponseHeader rsp;
  rsp.response = 5;  // function rejected
  rsp.itt = abort->itt();
  rsp.stat_sn = h.NextStatSn();
  rsp.exp_cmd_sn = h.exp_cmd_sn;
  rsp.max_cmd_sn = h.max_cmd_sn;
  h.Deliver(rsp);
  EXPECT_EQ(cmd.done_calls, 0);

  std::optional<SentPdu> reset = RunUntilSent(h, Opcode::kTaskMgmtRequest, absl::Seconds(3));
  ASSERT_TRUE(reset.has_value());
  TaskMgmtRequestHeader r = reset->AsTaskMgmt();
  EXPECT_EQ(r.function, 5);  // LOGICAL UNIT RESET
  EXPECT_EQ(r.lun, issued.lun);
  EXPECT_EQ(r.referenced_task_tag, kReservedTag);
  EXPECT_EQ(h.session().stats().lun_resets, 1u);
  rsp.response = 0;
  rsp.itt = r.itt;
  rsp.stat_sn = h.NextStatSn();
  h.Deliver(rsp);
  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(absl::IsAborted(cmd.status)) << cmd.status;
}

}  // namespace
}  // namespace isergw::iscsi::testing
