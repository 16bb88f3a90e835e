// The SCSI data path: READ with Data-In, WRITE with immediate, unsolicited
// and R2T-solicited Data-Out, SCSI Response with sense, and the target
// mistakes that must drop the connection without touching memory.
#include <gtest/gtest.h>

#include <numeric>

#include "iser_client/config/exit_codes.h"
#include "tests/unit/session/fake_target.h"

namespace isergw::iscsi::testing {
namespace {

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

void FillPattern(TestCommand& cmd, uint8_t seed) {
  std::vector<uint8_t> p = Pattern(cmd.buffer.size(), seed);
  std::copy(p.begin(), p.end(), cmd.buffer.begin());
}

// Checks every command failed exactly once and the session is down with a
// protocol error.
void ExpectProtocolFailure(SessionHarness& h, std::initializer_list<TestCommand*> cmds) {
  EXPECT_EQ(h.session().state(), Session::State::kFailed);
  EXPECT_EQ(h.observer().failed_calls, 1);
  EXPECT_EQ(GetFailureKind(h.observer().failed_status), FailureKind::kProtocol)
      << h.observer().failed_status;
  EXPECT_EQ(h.session().stats().protocol_errors, 1u);
  EXPECT_TRUE(h.wire().closed);
  for (TestCommand* cmd : cmds) {
    EXPECT_EQ(cmd->done_calls, 1);
    EXPECT_FALSE(cmd->status.ok());
  }
  EXPECT_EQ(h.session().commands_in_flight(), 0u);
}

TargetLoginAnswers Answers(uint32_t mrdsl, uint32_t first_burst, bool immediate_data,
                           bool initial_r2t, uint32_t max_burst = 16384) {
  TargetLoginAnswers a;
  a.overrides = {{"MaxRecvDataSegmentLength", std::to_string(mrdsl)},
                 {"FirstBurstLength", std::to_string(first_burst)},
                 {"MaxBurstLength", std::to_string(max_burst)},
                 {"ImmediateData", immediate_data ? "Yes" : "No"},
                 {"InitialR2T", initial_r2t ? "Yes" : "No"}};
  return a;
}

// ---- READ ----

TEST(SessionReadTest, CommandPduFields) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 4096);
  SentPdu pdu = h.SubmitAndTake(cmd);
  ScsiCommandHeader c = pdu.AsScsiCommand();
  EXPECT_TRUE(c.final);
  EXPECT_TRUE(c.read);
  EXPECT_FALSE(c.write);
  EXPECT_EQ(c.attr, TaskAttr::kSimple);
  EXPECT_EQ(c.lun, 0x0001000000000000ull);
  EXPECT_EQ(c.expected_data_transfer_length, 4096u);
  EXPECT_EQ(c.cmd_sn, 1u);
  EXPECT_EQ(c.data_segment_length, 0u);
  EXPECT_EQ(c.cdb[0], 0x28);
  EXPECT_EQ(c.cdb[9], 0x5a);
  EXPECT_TRUE(pdu.data.empty());
  ASSERT_TRUE(pdu.has_command);
  EXPECT_EQ(pdu.command.base, cmd.buffer.data());
  EXPECT_EQ(pdu.command.length, 4096u);
  EXPECT_TRUE(pdu.command.read);
  EXPECT_FALSE(pdu.command.write);
  EXPECT_EQ(h.session().commands_in_flight(), 1u);
}

TEST(SessionReadTest, DataInAtOffsetsLandsInBufferAndStatusCompletes) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 4096);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  std::vector<uint8_t> data = Pattern(3072, 11);

  // Out of offset order but in DataSN order (DataPDUInOrder aside, the
  // offsets are what place the bytes).
  h.Deliver(h.DataIn(itt, 0, 1024), std::span(data).subspan(1024, 1024));
  h.Deliver(h.DataIn(itt, 1, 0), std::span(data).subspan(0, 1024));
  EXPECT_EQ(cmd.done_calls, 0);
  DataInHeader last = h.DataIn(itt, 2, 2048);
  last.final = true;
  last.status_present = true;
  last.status = 0;
  last.underflow = true;
  last.residual_count = 1024;
  last.stat_sn = h.NextStatSn();
  h.Deliver(last, std::span(data).subspan(2048, 1024));

  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(cmd.status.ok()) << cmd.status;
  EXPECT_EQ(cmd.scsi_status, 0);
  EXPECT_EQ(cmd.residual, 1024u);
  EXPECT_TRUE(cmd.underflow);
  EXPECT_TRUE(std::equal(data.begin(), data.end(), cmd.buffer.begin()));
  EXPECT_TRUE(
      std::all_of(cmd.buffer.begin() + 3072, cmd.buffer.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(h.session().commands_in_flight(), 0u);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);

  // The next command acknowledges the status carried by the Data-In.
  TestCommand next(DataDirection::kNone, 0);
  EXPECT_EQ(h.SubmitAndTake(next).AsScsiCommand().exp_stat_sn, last.stat_sn + 1);
}

TEST(SessionReadTest, DataInThenScsiResponseCompletes) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  std::vector<uint8_t> data = Pattern(512, 3);
  DataInHeader in = h.DataIn(itt, 0, 0);
  in.final = true;
  h.Deliver(in, data);
  EXPECT_EQ(cmd.done_calls, 0);  // no S bit: status comes separately
  h.Deliver(h.Response(itt, 0));
  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(cmd.status.ok());
  EXPECT_EQ(cmd.buffer, data);
}

TEST(SessionReadTest, DataInPastTheBufferDropsTheConnection) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kRead, 1024);
  TestCommand b(DataDirection::kRead, 1024);
  uint32_t itt = h.SubmitAndTake(a).itt();
  h.SubmitAndTake(b);
  std::vector<uint8_t> data = Pattern(1024, 5);
  h.Deliver(h.DataIn(itt, 0, 512), data);  // 512 + 1024 > 1024
  ExpectProtocolFailure(h, {&a, &b});
  EXPECT_TRUE(std::all_of(a.buffer.begin(), a.buffer.end(), [](uint8_t x) { return x == 0; }));
}

TEST(SessionReadTest, DataInWithWrappingOffsetDropsTheConnection) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kRead, 1024);
  uint32_t itt = h.SubmitAndTake(a).itt();
  std::vector<uint8_t> data = Pattern(512, 5);
  h.Deliver(h.DataIn(itt, 0, 0xffffff00u), data);  // offset + length wraps 32 bits
  ExpectProtocolFailure(h, {&a});
}

TEST(SessionReadTest, OutOfOrderDataSnDropsTheConnection) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand a(DataDirection::kRead, 2048);
  TestCommand b(DataDirection::kWrite, 512);
  uint32_t itt = h.SubmitAndTake(a).itt();
  h.SubmitAndTake(b);
  std::vector<uint8_t> data = Pattern(512, 1);
  h.Deliver(h.DataIn(itt, 0, 0), data);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
  h.Deliver(h.DataIn(itt, 2, 512), data);  // DataSN 1 skipped
  ExpectProtocolFailure(h, {&a, &b});
}

TEST(SessionReadTest, DataInForAWriteDropsTheConnection) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(8192, 65536, false, true)));
  TestCommand w(DataDirection::kWrite, 1024);
  uint32_t itt = h.SubmitAndTake(w).itt();
  std::vector<uint8_t> data = Pattern(512, 1);
  h.Deliver(h.DataIn(itt, 0, 0), data);
  ExpectProtocolFailure(h, {&w});
}

// ---- SCSI Response ----

TEST(SessionResponseTest, SenseDataReachesTheCallback) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kRead, 512);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  std::vector<uint8_t> sense = {0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00, 0, 0, 0, 0};
  std::vector<uint8_t> segment = {0x00, static_cast<uint8_t>(sense.size())};
  segment.insert(segment.end(), sense.begin(), sense.end());
  segment.push_back(0xee);  // response data after the sense is not sense
  h.Deliver(h.Response(itt, 0x02), segment);
  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(cmd.status.ok()) << cmd.status;
  EXPECT_EQ(cmd.scsi_status, 0x02);
  EXPECT_EQ(cmd.sense, sense);
}

TEST(SessionResponseTest, SenseLengthBeyondTheSegmentIsClipped) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kNone, 0);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  std::vector<uint8_t> segment = {0x01, 0x00, 0x70, 0x00, 0x06, 0x00};  // claims 256
  h.Deliver(h.Response(itt, 0x02), segment);
  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_EQ(cmd.sense, (std::vector<uint8_t>{0x70, 0x00, 0x06, 0x00}));
}

TEST(SessionResponseTest, NonZeroResponseFailsTheCommand) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk());
  TestCommand cmd(DataDirection::kNone, 0);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  ScsiResponseHeader rsp = h.Response(itt, 0);
  rsp.response = 1;  // target failure
  h.Deliver(rsp);
  ASSERT_EQ(cmd.done_calls, 1);
  EXPECT_FALSE(cmd.status.ok());
  EXPECT_EQ(GetFailureKind(cmd.status), FailureKind::kIo);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
}

// ---- WRITE ----

struct ImmediateCase {
  uint32_t mrdsl;
  uint32_t first_burst;
  uint32_t length;
  uint32_t expected_immediate;
};

class SessionImmediateDataTest : public ::testing::TestWithParam<ImmediateCase> {};

TEST_P(SessionImmediateDataTest, ImmediateDataIsMinOfFirstBurstAndTargetMrdsl) {
  const ImmediateCase& p = GetParam();
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(p.mrdsl, p.first_burst, true, true)));
  TestCommand cmd(DataDirection::kWrite, p.length);
  FillPattern(cmd, 9);
  SentPdu pdu = h.SubmitAndTake(cmd);  // InitialR2T=Yes: nothing else follows
  ScsiCommandHeader c = pdu.AsScsiCommand();
  EXPECT_TRUE(c.final);
  EXPECT_TRUE(c.write);
  EXPECT_FALSE(c.read);
  EXPECT_EQ(c.expected_data_transfer_length, p.length);
  EXPECT_EQ(c.data_segment_length, p.expected_immediate);
  ASSERT_EQ(pdu.data.size(), p.expected_immediate);
  EXPECT_TRUE(std::equal(pdu.data.begin(), pdu.data.end(), cmd.buffer.begin()));
  ASSERT_TRUE(pdu.has_command);
  EXPECT_EQ(pdu.command.immediate, p.expected_immediate);
  EXPECT_TRUE(pdu.command.write);
}

INSTANTIATE_TEST_SUITE_P(Limits, SessionImmediateDataTest,
                         ::testing::Values(ImmediateCase{1024, 4096, 8192, 1024},
                                           ImmediateCase{8192, 2048, 8192, 2048},
                                           ImmediateCase{8192, 4096, 600, 600}));

TEST(SessionWriteTest, NoImmediateDataWhenTargetSaysNo) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(8192, 4096, false, true)));
  TestCommand cmd(DataDirection::kWrite, 2048);
  SentPdu pdu = h.SubmitAndTake(cmd);
  EXPECT_EQ(pdu.AsScsiCommand().data_segment_length, 0u);
  EXPECT_TRUE(pdu.data.empty());
  EXPECT_TRUE(pdu.AsScsiCommand().final);
}

// Checks a run of Data-Out PDUs for one burst.
void ExpectDataOutBurst(const std::vector<SentPdu>& pdus, size_t first, size_t count, uint32_t itt,
                        uint32_t ttt, uint32_t offset, uint32_t end, uint32_t max_segment,
                        const TestCommand& cmd) {
  ASSERT_GE(pdus.size(), first + count);
  for (size_t i = 0; i < count; ++i) {
    const SentPdu& pdu = pdus[first + i];
    ASSERT_EQ(pdu.opcode(), Opcode::kDataOut) << "PDU " << first + i;
    DataOutHeader d = pdu.AsDataOut();
    uint32_t length = std::min(end - offset, max_segment);
    EXPECT_EQ(d.itt, itt);
    EXPECT_EQ(d.ttt, ttt);
    EXPECT_EQ(d.lun, cmd.request.lun);
    EXPECT_EQ(d.data_sn, i) << "PDU " << first + i;
    EXPECT_EQ(d.buffer_offset, offset);
    EXPECT_EQ(d.data_segment_length, length);
    EXPECT_EQ(d.final, i + 1 == count) << "PDU " << first + i;
    ASSERT_EQ(pdu.data.size(), length);
    EXPECT_TRUE(std::equal(pdu.data.begin(), pdu.data.end(), cmd.buffer.begin() + offset));
    EXPECT_FALSE(pdu.has_command);
    offset += length;
  }
  EXPECT_EQ(offset, end);
}

TEST(SessionWriteTest, UnsolicitedDataOutAfterImmediateData) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(1024, 4096, true, false)));
  TestCommand cmd(DataDirection::kWrite, 8192);
  FillPattern(cmd, 21);
  ASSERT_TRUE(h.session().Submit(&cmd.request).ok());
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 4u);  // command + 1024 immediate, then 3 x 1024 up to FirstBurst
  ScsiCommandHeader c = sent[0].AsScsiCommand();
  EXPECT_FALSE(c.final);  // unsolicited Data-Out follows
  EXPECT_EQ(c.data_segment_length, 1024u);
  ExpectDataOutBurst(sent, 1, 3, c.itt, kReservedTag, 1024, 4096, 1024, cmd);
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].AsDataOut().exp_stat_sn, c.exp_stat_sn);
  }

  // The rest is solicited; DataSN starts over for the R2T's sequence.
  h.Deliver(h.R2t(c.itt, 0x77, 4096, 4096));
  sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 4u);
  ExpectDataOutBurst(sent, 0, 4, c.itt, 0x77, 4096, 8192, 1024, cmd);
  EXPECT_EQ(h.session().stats().r2ts, 1u);
  EXPECT_EQ(h.session().stats().data_out_pdus, 7u);

  h.Deliver(h.Response(c.itt, 0));
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(cmd.status.ok());
}

TEST(SessionWriteTest, UnsolicitedDataOutWithoutImmediateData) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(1024, 2048, false, false)));
  TestCommand cmd(DataDirection::kWrite, 3000);
  FillPattern(cmd, 33);
  ASSERT_TRUE(h.session().Submit(&cmd.request).ok());
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 3u);
  ScsiCommandHeader c = sent[0].AsScsiCommand();
  EXPECT_FALSE(c.final);
  EXPECT_EQ(c.data_segment_length, 0u);
  ExpectDataOutBurst(sent, 1, 2, c.itt, kReservedTag, 0, 2048, 1024, cmd);
}

TEST(SessionWriteTest, WriteWithinImmediateDataSendsNoDataOut) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(1024, 4096, true, false)));
  TestCommand cmd(DataDirection::kWrite, 1000);
  SentPdu pdu = h.SubmitAndTake(cmd);
  EXPECT_TRUE(pdu.AsScsiCommand().final);
  EXPECT_EQ(pdu.data.size(), 1000u);
}

TEST(SessionWriteTest, R2tSolicitedDataOutSplitByTargetMrdsl) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(1024, 4096, false, true)));
  TestCommand cmd(DataDirection::kWrite, 5000);
  FillPattern(cmd, 77);
  uint32_t itt = h.SubmitAndTake(cmd).itt();

  h.Deliver(h.R2t(itt, 0x11, 0, 3000, 0));
  std::vector<SentPdu> sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 3u);  // 1024 + 1024 + 952
  ExpectDataOutBurst(sent, 0, 3, itt, 0x11, 0, 3000, 1024, cmd);

  h.Deliver(h.R2t(itt, 0x22, 3000, 2000, 1));
  sent = h.TakeSent();
  ASSERT_EQ(sent.size(), 2u);  // 1024 + 976
  ExpectDataOutBurst(sent, 0, 2, itt, 0x22, 3000, 5000, 1024, cmd);

  h.Deliver(h.Response(itt, 0));
  EXPECT_EQ(cmd.done_calls, 1);
  EXPECT_TRUE(cmd.status.ok());
}

struct BadR2tCase {
  const char* name;
  DataDirection direction;
  uint32_t offset;
  uint32_t length;
};

class SessionBadR2tTest : public ::testing::TestWithParam<BadR2tCase> {};

TEST_P(SessionBadR2tTest, InvalidR2tDropsTheConnectionAndSendsNothing) {
  const BadR2tCase& p = GetParam();
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(1024, 4096, false, true, 16384)));
  TestCommand cmd(p.direction, 4096);
  TestCommand other(DataDirection::kNone, 0);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  h.SubmitAndTake(other);
  h.Deliver(h.R2t(itt, 0x33, p.offset, p.length));
  EXPECT_TRUE(h.TakeSent().empty());
  ExpectProtocolFailure(h, {&cmd, &other});
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SessionBadR2tTest,
    ::testing::Values(BadR2tCase{"PastTheBuffer", DataDirection::kWrite, 2048, 4096},
                      BadR2tCase{"OffsetWraps", DataDirection::kWrite, 0xfffff000u, 0x2000},
                      BadR2tCase{"ZeroLength", DataDirection::kWrite, 0, 0},
                      BadR2tCase{"ForARead", DataDirection::kRead, 0, 1024}),
    [](const ::testing::TestParamInfo<BadR2tCase>& info) { return info.param.name; });

TEST(SessionWriteTest, R2tLongerThanMaxBurstDropsTheConnection) {
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(Answers(1024, 4096, false, true, 4096)));
  ASSERT_EQ(h.session().params().max_burst_length, 4096u);
  TestCommand cmd(DataDirection::kWrite, 8192);
  uint32_t itt = h.SubmitAndTake(cmd).itt();
  h.Deliver(h.R2t(itt, 0x33, 0, 8192));
  EXPECT_TRUE(h.TakeSent().empty());
  ExpectProtocolFailure(h, {&cmd});
}

}  // namespace
}  // namespace isergw::iscsi::testing
