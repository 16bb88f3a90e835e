// The CmdSN window (RFC 7143 4.2.2.1) and ITT lookup with generations.
#include <gtest/gtest.h>

#include "tests/unit/session/fake_target.h"

namespace isergw::iscsi::testing {
namespace {

TargetLoginAnswers Window(uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  TargetLoginAnswers a;
  a.exp_cmd_sn = exp_cmd_sn;
  a.max_cmd_sn = max_cmd_sn;
  return a;
}

std::vector<uint32_t> CmdSns(const std::vector<SentPdu>& pdus) {
  std::vector<uint32_t> out;
  for (const SentPdu& p : pdus) {
    EXPECT_EQ(p.opcode(), Opcode::kScsiCommand);
    out.push_back(p.AsScsiCommand().cmd_sn);
  }
  return out;
}

TEST(SessionWindowTest, ClosedWindowQueuesInOrderUntilAResponseOpensIt) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Window(1, 1)));  // room for one command
  TestCommand a(DataDirection::kNone, 0);
  TestCommand b(DataDirection::kNone, 0);
  TestCommand c(DataDirection::kNone, 0);
  uint32_t itt_a = h.SubmitAndTake(a).itt();
  ASSERT_TRUE(h.session().Submit(&b.request).ok());
  ASSERT_TRUE(h.session().Submit(&c.request).ok());
  EXPECT_TRUE(h.TakeSent().empty());
  EXPECT_EQ(h.session().stats().commands_queued_for_window, 2u);
  EXPECT_EQ(h.session().commands_in_flight(), 3u);

  // A's response closes the window (MaxCmdSN = ExpCmdSN - 1).
  h.exp_cmd_sn = 2;
  h.max_cmd_sn = 1;
  h.Deliver(h.Response(itt_a));
  EXPECT_EQ(a.done_calls, 1);
  EXPECT_TRUE(h.TakeSent().empty());

  // A later response opens it for two: B then C, in submission order.
  h.max_cmd_sn = 3;
  h.Deliver(h.UnsolicitedNopIn(kReservedTag));
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(CmdSns(sent), (std::vector<uint32_t>{2, 3}));
  h.Deliver(h.Response(sent[0].itt()));
  EXPECT_EQ(b.done_calls, 1);
  EXPECT_EQ(c.done_calls, 0);
  h.Deliver(h.Response(sent[1].itt()));
  EXPECT_EQ(c.done_calls, 1);
}

TEST(SessionWindowTest, WindowClosedAtLoginHoldsEveryCommand) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Window(1, 0)));
  TestCommand a(DataDirection::kNone, 0);
  TestCommand b(DataDirection::kNone, 0);
  ASSERT_TRUE(h.session().Submit(&a.request).ok());
  ASSERT_TRUE(h.session().Submit(&b.request).ok());
  EXPECT_TRUE(h.TakeSent().empty());
  // An unsolicited NOP-In without a TTT wants no answer but carries a window.
  h.max_cmd_sn = 1;
  h.Deliver(h.UnsolicitedNopIn(kReservedTag));
  EXPECT_EQ(CmdSns(h.TakeSent()), (std::vector<uint32_t>{1}));
  h.max_cmd_sn = 5;
  h.Deliver(h.UnsolicitedNopIn(kReservedTag));
  EXPECT_EQ(CmdSns(h.TakeSent()), (std::vector<uint32_t>{2}));
  // Window open and nothing queued: a new command goes straight out.
  TestCommand c(DataDirection::kNone, 0);
  EXPECT_EQ(h.SubmitAndTake(c).AsScsiCommand().cmd_sn, 3u);
}

TEST(SessionWindowTest, CmdSnWrapsAroundZero) {
  SessionConfig config = SessionHarness::DefaultConfig();
  config.initial_cmd_sn = 0xfffffffe;
  SessionHarness h(config);
  ASSERT_TRUE(h.LoginOk(Window(0xfffffffe, 0)));  // three CmdSNs: fffffffe, ffffffff, 0
  TestCommand cmds[4] = {{DataDirection::kNone, 0},
                         {DataDirection::kNone, 0},
                         {DataDirection::kNone, 0},
                         {DataDirection::kNone, 0}};
  for (TestCommand& cmd : cmds) ASSERT_TRUE(h.session().Submit(&cmd.request).ok());
  std::vector<SentPdu> sent = h.TakeSent();
  EXPECT_EQ(CmdSns(sent), (std::vector<uint32_t>{0xfffffffe, 0xffffffff, 0}));
  h.exp_cmd_sn = 1;
  h.max_cmd_sn = 1;
  h.Deliver(h.Response(sent[0].itt()));
  EXPECT_EQ(cmds[0].done_calls, 1);
  std::vector<SentPdu> more = h.TakeSent();
  EXPECT_EQ(CmdSns(more), (std::vector<uint32_t>{1}));
}

TEST(SessionWindowTest, InvalidWindowIsIgnored) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Window(1, 1)));
  TestCommand a(DataDirection::kNone, 0);
  TestCommand b(DataDirection::kNone, 0);
  uint32_t itt_a = h.SubmitAndTake(a).itt();
  ASSERT_TRUE(h.session().Submit(&b.request).ok());
  // MaxCmdSN 5 < ExpCmdSN 10 - 1: both values are ignored, B stays queued.
  h.exp_cmd_sn = 10;
  h.max_cmd_sn = 5;
  h.Deliver(h.Response(itt_a));
  EXPECT_EQ(a.done_calls, 1);
  EXPECT_TRUE(h.TakeSent().empty());
  // Had ExpCmdSN 10 been taken, this window [2, 2] would look stale.
  h.exp_cmd_sn = 2;
  h.max_cmd_sn = 2;
  h.Deliver(h.UnsolicitedNopIn(kReservedTag));
  EXPECT_EQ(CmdSns(h.TakeSent()), (std::vector<uint32_t>{2}));
}

TEST(SessionWindowTest, WindowNeverMovesBackwards) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Window(1, 3)));
  // A valid but older window must not shrink what the target granted.
  h.exp_cmd_sn = 1;
  h.max_cmd_sn = 1;
  h.Deliver(h.UnsolicitedNopIn(kReservedTag));
  TestCommand cmds[3] = {
      {DataDirection::kNone, 0}, {DataDirection::kNone, 0}, {DataDirection::kNone, 0}};
  for (TestCommand& cmd : cmds) ASSERT_TRUE(h.session().Submit(&cmd.request).ok());
  EXPECT_EQ(CmdSns(h.TakeSent()), (std::vector<uint32_t>{1, 2, 3}));
}

TEST(SessionTaskTest, StaleIttIsCountedAndCompletesNothing) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kRead, 512);
  uint32_t itt_a = h.SubmitAndTake(a).itt();
  h.Deliver(h.Response(itt_a));
  ASSERT_EQ(a.done_calls, 1);

  // B reuses A's slot under a new generation.
  TestCommand b(DataDirection::kRead, 512);
  uint32_t itt_b = h.SubmitAndTake(b).itt();
  EXPECT_EQ(itt_b & 0xffff, itt_a & 0xffff);
  EXPECT_NE(itt_b, itt_a);

  std::vector<uint8_t> data(512, 0xab);
  h.Deliver(h.Response(itt_a));                           // late duplicate response
  h.Deliver(h.DataIn(itt_a, 0, 0), data);                 // late Data-In
  h.Deliver(h.R2t(itt_a, 0x99, 0, 512));                  // late R2T
  h.Deliver(h.Response((itt_a & 0xffff0000u) | 0xfff0));  // slot out of range
  EXPECT_EQ(h.session().stats().stale_replies, 4u);
  EXPECT_EQ(a.done_calls, 1);
  EXPECT_EQ(b.done_calls, 0);
  EXPECT_TRUE(std::all_of(b.buffer.begin(), b.buffer.end(), [](uint8_t x) { return x == 0; }));
  EXPECT_TRUE(h.TakeSent().empty());
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);

  h.Deliver(h.Response(itt_b));
  EXPECT_EQ(b.done_calls, 1);
}

TEST(SessionTaskTest, IttsOfInFlightCommandsAreDistinct) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  std::vector<std::unique_ptr<TestCommand>> cmds;
  std::vector<uint32_t> itts;
  for (int i = 0; i < 16; ++i) {
    cmds.push_back(std::make_unique<TestCommand>(DataDirection::kNone, 0));
    itts.push_back(h.SubmitAndTake(*cmds.back()).itt());
  }
  std::sort(itts.begin(), itts.end());
  EXPECT_EQ(std::adjacent_find(itts.begin(), itts.end()), itts.end());
  EXPECT_EQ(std::count(itts.begin(), itts.end(), kReservedTag), 0);
  // Every slot busy: the 17th is refused at once, without its callback.
  TestCommand extra(DataDirection::kNone, 0);
  absl::Status refused = h.session().Submit(&extra.request);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_EQ(extra.done_calls, 0);
  // Answering out of order completes exactly the named command.
  h.Deliver(h.Response(itts[7]));
  int done = 0;
  for (auto& cmd : cmds) done += cmd->done_calls;
  EXPECT_EQ(done, 1);
}

TEST(SessionTaskTest, SubmitBeforeLoginFails) {
  SessionHarness h;
  TestCommand cmd(DataDirection::kNone, 0);
  absl::Status s = h.session().Submit(&cmd.request);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(cmd.done_calls, 0);
}

}  // namespace
}  // namespace isergw::iscsi::testing
