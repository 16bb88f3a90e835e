#include "iser_client/pdu/bhs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "absl/status/status.h"

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;
using Bytes = std::array<uint8_t, kBhsSize>;

template <typename Header>
Bytes EncodeToArray(const Header& h) {
  Bytes out;
  out.fill(0xa5);  // Encode must overwrite every byte, reserved ones with 0
  Encode(h, out);
  return out;
}

// ---- Round trips: every field distinct and non-trivial ----

TEST(BhsRoundTrip, NopOut) {
  NopOutHeader h{.immediate = true,
                 .total_ahs_length = 3,
                 .data_segment_length = 0x123456,
                 .lun = 0x0102030405060708,
                 .itt = 0x11223344,
                 .ttt = 0x55667788,
                 .cmd_sn = 0x99aabbcc,
                 .exp_stat_sn = 0xddeeff01};
  auto d = DecodeNopOut(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, ScsiCommand) {
  ScsiCommandHeader h{.immediate = true,
                      .final = false,
                      .read = true,
                      .write = true,
                      .attr = TaskAttr::kAca,
                      .total_ahs_length = 5,
                      .data_segment_length = 0xabcdef,
                      .lun = 0x1112131415161718,
                      .itt = 0x21222324,
                      .expected_data_transfer_length = 0x31323334,
                      .cmd_sn = 0x41424344,
                      .exp_stat_sn = 0x51525354,
                      .cdb = {0x8a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}};
  auto d = DecodeScsiCommand(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
  // Each flag on its own survives too (no bit aliasing).
  h = ScsiCommandHeader{.final = true,
                        .read = false,
                        .write = true,
                        .attr = TaskAttr::kOrdered,
                        .expected_data_transfer_length = 1};
  d = DecodeScsiCommand(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, TaskMgmtRequest) {
  TaskMgmtRequestHeader h{.immediate = true,
                          .function = 0x7f,
                          .lun = 0xa1a2a3a4a5a6a7a8,
                          .itt = 0xb1b2b3b4,
                          .referenced_task_tag = 0xc1c2c3c4,
                          .cmd_sn = 0xd1d2d3d4,
                          .exp_stat_sn = 0xe1e2e3e4,
                          .ref_cmd_sn = 0xf1f2f3f4,
                          .exp_data_sn = 0x01020304};
  auto d = DecodeTaskMgmtRequest(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, LoginRequest) {
  LoginRequestHeader h{.transit = false,
                       .cont = true,
                       .csg = 1,
                       .nsg = 3,
                       .version_max = 0x12,
                       .version_min = 0x34,
                       .total_ahs_length = 0x56,
                       .data_segment_length = 0x789abc,
                       .isid = {0x80, 0xde, 0xad, 0xbe, 0xef, 0x01},
                       .tsih = 0xcafe,
                       .itt = 0x0badf00d,
                       .cid = 0xbeef,
                       .cmd_sn = 0x10203040,
                       .exp_stat_sn = 0x50607080};
  auto d = DecodeLoginRequest(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
  h.transit = true;
  h.cont = false;
  h.csg = 0;
  h.nsg = 1;
  d = DecodeLoginRequest(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, TextRequest) {
  TextRequestHeader h{.immediate = true,
                      .final = false,
                      .cont = true,
                      .total_ahs_length = 9,
                      .data_segment_length = 0x0fedcb,
                      .lun = 0x8877665544332211,
                      .itt = 0x13572468,
                      .ttt = 0x24681357,
                      .cmd_sn = 0x11111112,
                      .exp_stat_sn = 0x22222223};
  auto d = DecodeTextRequest(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, DataOut) {
  DataOutHeader h{.final = true,
                  .total_ahs_length = 1,
                  .data_segment_length = 0x020000,
                  .lun = 0x0001000000000000,
                  .itt = 0x76543210,
                  .ttt = 0x89abcdef,
                  .exp_stat_sn = 0x00112233,
                  .data_sn = 0x44556677,
                  .buffer_offset = 0x8899aabb};
  auto d = DecodeDataOut(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, LogoutRequest) {
  LogoutRequestHeader h{.immediate = true,
                        .reason = 0x72,
                        .itt = 0xfeedface,
                        .cid = 0x4321,
                        .cmd_sn = 0x31415926,
                        .exp_stat_sn = 0x27182818};
  auto d = DecodeLogoutRequest(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, Snack) {
  SnackHeader h{.type = 0x0e,
                .lun = 0x0203040506070809,
                .itt = 0x0a0b0c0d,
                .ttt_or_snack_tag = 0x0e0f1011,
                .exp_stat_sn = 0x12131415,
                .beg_run = 0x16171819,
                .run_length = 0x1a1b1c1d};
  auto d = DecodeSnack(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, NopIn) {
  NopInHeader h{.total_ahs_length = 4,
                .data_segment_length = 0x000101,
                .lun = 0xf0e0d0c0b0a09080,
                .itt = 0x70605040,
                .ttt = 0x30201000,
                .stat_sn = 0xf1e1d1c1,
                .exp_cmd_sn = 0xb1a19181,
                .max_cmd_sn = 0x71615141};
  auto d = DecodeNopIn(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, ScsiResponse) {
  ScsiResponseHeader h{.bidi_read_overflow = true,
                       .bidi_read_underflow = false,
                       .overflow = false,
                       .underflow = true,
                       .response = 0x01,
                       .status = 0x02,
                       .total_ahs_length = 7,
                       .data_segment_length = 0x000012,
                       .itt = 0x0a0a0a0b,
                       .snack_tag = 0x0c0c0c0d,
                       .stat_sn = 0x0e0e0e0f,
                       .exp_cmd_sn = 0x10101011,
                       .max_cmd_sn = 0x12121213,
                       .exp_data_sn = 0x14141415,
                       .bidi_read_residual_count = 0x16161617,
                       .residual_count = 0x18181819};
  auto d = DecodeScsiResponse(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
  h.bidi_read_overflow = false;
  h.bidi_read_underflow = true;
  h.overflow = true;
  h.underflow = false;
  d = DecodeScsiResponse(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, TaskMgmtResponse) {
  TaskMgmtResponseHeader h{.response = 0xff,
                           .itt = 0x01010102,
                           .stat_sn = 0x03030304,
                           .exp_cmd_sn = 0x05050506,
                           .max_cmd_sn = 0x07070708};
  auto d = DecodeTaskMgmtResponse(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, LoginResponse) {
  LoginResponseHeader h{.transit = true,
                        .cont = false,
                        .csg = 1,
                        .nsg = 3,
                        .version_max = 0x21,
                        .version_active = 0x43,
                        .total_ahs_length = 0x65,
                        .data_segment_length = 0x876543,
                        .isid = {0x40, 0x01, 0x37, 0x00, 0x00, 0x2a},
                        .tsih = 0x1d1e,
                        .itt = 0xa0b0c0d0,
                        .stat_sn = 0xe0f00010,
                        .exp_cmd_sn = 0x20304050,
                        .max_cmd_sn = 0x60708090,
                        .status_class = 0x02,
                        .status_detail = 0x0b};
  auto d = DecodeLoginResponse(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, TextResponse) {
  TextResponseHeader h{.final = false,
                       .cont = true,
                       .total_ahs_length = 2,
                       .data_segment_length = 0x00fff0,
                       .lun = 0x0123456789abcdef,
                       .itt = 0xfedcba98,
                       .ttt = 0x76543211,
                       .stat_sn = 0x13131313,
                       .exp_cmd_sn = 0x24242424,
                       .max_cmd_sn = 0x35353535};
  auto d = DecodeTextResponse(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, DataIn) {
  DataInHeader h{.final = true,
                 .ack = true,
                 .overflow = true,
                 .underflow = false,
                 .status_present = true,
                 .status = 0x28,
                 .total_ahs_length = 6,
                 .data_segment_length = 0x040000,
                 .lun = 0x0002000000000000,
                 .itt = 0x0000beef,
                 .ttt = 0x0000cafe,
                 .stat_sn = 0x11110000,
                 .exp_cmd_sn = 0x22220000,
                 .max_cmd_sn = 0x33330000,
                 .data_sn = 0x44440000,
                 .buffer_offset = 0x55550000,
                 .residual_count = 0x66660000};
  auto d = DecodeDataIn(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
  h = DataInHeader{.final = false, .ack = true, .data_sn = 9};
  d = DecodeDataIn(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, LogoutResponse) {
  LogoutResponseHeader h{.response = 0x03,
                         .itt = 0x9abcdef0,
                         .stat_sn = 0x0fedcba9,
                         .exp_cmd_sn = 0x87654321,
                         .max_cmd_sn = 0x12345678,
                         .time2wait = 0x0a0b,
                         .time2retain = 0x0c0d};
  auto d = DecodeLogoutResponse(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, R2t) {
  R2tHeader h{.lun = 0x0003000000000000,
              .itt = 0x01000001,
              .ttt = 0x02000002,
              .stat_sn = 0x03000003,
              .exp_cmd_sn = 0x04000004,
              .max_cmd_sn = 0x05000005,
              .r2t_sn = 0x06000006,
              .buffer_offset = 0x07000007,
              .desired_data_transfer_length = 0x08000008};
  auto d = DecodeR2t(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, AsyncMessage) {
  AsyncMessageHeader h{.total_ahs_length = 8,
                       .data_segment_length = 0x000020,
                       .lun = 0x0004000000000000,
                       .stat_sn = 0x10000001,
                       .exp_cmd_sn = 0x20000002,
                       .max_cmd_sn = 0x30000003,
                       .async_event = 0x04,
                       .async_vcode = 0x05,
                       .parameter1 = 0x0607,
                       .parameter2 = 0x0809,
                       .parameter3 = 0x0a0b};
  auto d = DecodeAsyncMessage(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsRoundTrip, Reject) {
  RejectHeader h{.reason = 0x09,
                 .total_ahs_length = 0x0a,
                 .data_segment_length = 0x000030,
                 .stat_sn = 0x0b0c0d0e,
                 .exp_cmd_sn = 0x0f101112,
                 .max_cmd_sn = 0x13141516,
                 .data_sn_or_r2t_sn = 0x1718191a};
  auto d = DecodeReject(EncodeToArray(h));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

// ---- Known byte layouts (RFC 7143 section 11) ----

// The SCSI Read (10) command of RFC 3720 appendix B.4.
constexpr Bytes kRfcRead10 = {
    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
    0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

TEST(BhsLayout, ScsiCommandMatchesRfcExample) {
  auto d = DecodeScsiCommand(kRfcRead10);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(d->immediate);
  EXPECT_TRUE(d->final);
  EXPECT_TRUE(d->read);
  EXPECT_FALSE(d->write);
  EXPECT_EQ(d->attr, TaskAttr::kUntagged);
  EXPECT_EQ(d->total_ahs_length, 0);
  EXPECT_EQ(d->data_segment_length, 0u);
  EXPECT_EQ(d->lun, 0u);
  EXPECT_EQ(d->itt, 0x14000000u);
  EXPECT_EQ(d->expected_data_transfer_length, 1024u);
  EXPECT_EQ(d->cmd_sn, 0x14u);
  EXPECT_EQ(d->exp_stat_sn, 0x18u);
  EXPECT_EQ(d->cdb, (Cdb{0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(EncodeToArray(*d), kRfcRead10);
}

TEST(BhsLayout, ScsiCommandWriteWithAllFields) {
  ScsiCommandHeader h{.immediate = true,
                      .final = false,
                      .read = false,
                      .write = true,
                      .attr = TaskAttr::kSimple,
                      .total_ahs_length = 2,
                      .data_segment_length = 0x010203,
                      .lun = 0x0001000000000000,
                      .itt = 0xa1b2c3d4,
                      .expected_data_transfer_length = 0x00100000,
                      .cmd_sn = 0x00000101,
                      .exp_stat_sn = 0x00000202,
                      .cdb = {0x2a, 0, 0, 0, 0x10, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x77}};
  constexpr Bytes kExpected = {
      0x41, 0x21, 0x00, 0x00,                          // I, opcode; W, ATTR=1
      0x02, 0x01, 0x02, 0x03,                          // TotalAHSLength, DSL
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN
      0xa1, 0xb2, 0xc3, 0xd4,                          // ITT
      0x00, 0x10, 0x00, 0x00,                          // EDTL
      0x00, 0x00, 0x01, 0x01,                          // CmdSN
      0x00, 0x00, 0x02, 0x02,                          // ExpStatSN
      0x2a, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x08,  // CDB
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x77,
  };
  EXPECT_EQ(EncodeToArray(h), kExpected);
  auto d = DecodeScsiCommand(kExpected);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
}

TEST(BhsLayout, LoginRequest) {
  LoginRequestHeader h{.transit = true,
                       .cont = false,
                       .csg = kStageLoginOperationalNegotiation,
                       .nsg = kStageFullFeaturePhase,
                       .version_max = 0x00,
                       .version_min = 0x00,
                       .total_ahs_length = 0,
                       .data_segment_length = 0x000123,
                       .isid = {0x80, 0x12, 0x34, 0x56, 0x78, 0x9a},
                       .tsih = 0x1234,
                       .itt = 0xdeadbeef,
                       .cid = 0x0001,
                       .cmd_sn = 0x00000007,
                       .exp_stat_sn = 0x00000009};
  constexpr Bytes kExpected = {
      0x43, 0x87, 0x00, 0x00,              // I=1 opcode 0x03; T, CSG=1, NSG=3; versions
      0x00, 0x00, 0x01, 0x23,              // TotalAHSLength, DSL
      0x80, 0x12, 0x34, 0x56, 0x78, 0x9a,  // ISID
      0x12, 0x34,                          // TSIH
      0xde, 0xad, 0xbe, 0xef,              // ITT
      0x00, 0x01, 0x00, 0x00,              // CID, reserved
      0x00, 0x00, 0x00, 0x07,              // CmdSN
      0x00, 0x00, 0x00, 0x09,              // ExpStatSN
      0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  };
  EXPECT_EQ(EncodeToArray(h), kExpected);
  auto d = DecodeLoginRequest(kExpected);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);

  // Security stage continuing: C=1, CSG=0, NSG=1 (NSG ignored without T).
  h = LoginRequestHeader{.cont = true, .csg = 0, .nsg = 1, .version_min = 0};
  Bytes bytes = EncodeToArray(h);
  EXPECT_EQ(bytes[0], 0x43);
  EXPECT_EQ(bytes[1], 0x41);
}

TEST(BhsLayout, DataIn) {
  DataInHeader h{.final = true,
                 .ack = false,
                 .overflow = false,
                 .underflow = true,
                 .status_present = true,
                 .status = 0x02,
                 .total_ahs_length = 0,
                 .data_segment_length = 0x001000,
                 .lun = 0x0001000000000000,
                 .itt = 0x00000042,
                 .ttt = kReservedTag,
                 .stat_sn = 0x10,
                 .exp_cmd_sn = 0x20,
                 .max_cmd_sn = 0x40,
                 .data_sn = 3,
                 .buffer_offset = 0x3000,
                 .residual_count = 0x200};
  constexpr Bytes kExpected = {
      0x25, 0x83, 0x00, 0x02,                          // opcode; F, U, S; status
      0x00, 0x00, 0x10, 0x00,                          // TotalAHSLength, DSL
      0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN
      0x00, 0x00, 0x00, 0x42,                          // ITT
      0xff, 0xff, 0xff, 0xff,                          // TTT
      0x00, 0x00, 0x00, 0x10,                          // StatSN
      0x00, 0x00, 0x00, 0x20,                          // ExpCmdSN
      0x00, 0x00, 0x00, 0x40,                          // MaxCmdSN
      0x00, 0x00, 0x00, 0x03,                          // DataSN
      0x00, 0x00, 0x30, 0x00,                          // Buffer Offset
      0x00, 0x00, 0x02, 0x00,                          // Residual Count
  };
  EXPECT_EQ(EncodeToArray(h), kExpected);
  auto d = DecodeDataIn(kExpected);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);

  // A and O land on their own bits.
  h.ack = true;
  h.underflow = false;
  h.overflow = true;
  EXPECT_EQ(EncodeToArray(h)[1], 0x80 | 0x40 | 0x04 | 0x01);
}

TEST(BhsLayout, ScsiResponse) {
  constexpr Bytes kWire = {
      0x21, 0x92, 0x00, 0x02,              // opcode; 1, o, U; response 0; CHECK CONDITION
      0x00, 0x00, 0x00, 0x14,              // DSL 20 (sense)
      0,    0,    0,    0,    0, 0, 0, 0,  // reserved
      0x00, 0x00, 0x00, 0x07,              // ITT
      0x00, 0x00, 0x00, 0x00,              // SNACK tag
      0x00, 0x00, 0x01, 0x00,              // StatSN
      0x00, 0x00, 0x02, 0x00,              // ExpCmdSN
      0x00, 0x00, 0x02, 0x7f,              // MaxCmdSN
      0x00, 0x00, 0x00, 0x05,              // ExpDataSN
      0x00, 0x00, 0x00, 0x06,              // Bidi residual
      0x00, 0x00, 0x10, 0x00,              // Residual
  };
  auto d = DecodeScsiResponse(kWire);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->bidi_read_overflow);
  EXPECT_FALSE(d->bidi_read_underflow);
  EXPECT_FALSE(d->overflow);
  EXPECT_TRUE(d->underflow);
  EXPECT_EQ(d->response, 0);
  EXPECT_EQ(d->status, 0x02);
  EXPECT_EQ(d->data_segment_length, 20u);
  EXPECT_EQ(d->itt, 7u);
  EXPECT_EQ(d->stat_sn, 0x100u);
  EXPECT_EQ(d->exp_cmd_sn, 0x200u);
  EXPECT_EQ(d->max_cmd_sn, 0x27fu);
  EXPECT_EQ(d->exp_data_sn, 5u);
  EXPECT_EQ(d->bidi_read_residual_count, 6u);
  EXPECT_EQ(d->residual_count, 0x1000u);
  EXPECT_EQ(EncodeToArray(*d), kWire);
}

TEST(BhsLayout, R2tAndLogoutResponse) {
  constexpr Bytes kR2t = {
      0x31, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // opcode, lengths 0
      0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // LUN
      0x00, 0x00, 0x00, 0x09,                          // ITT
      0x00, 0x00, 0x77, 0x77,                          // TTT
      0x00, 0x00, 0x00, 0x01,                          // StatSN
      0x00, 0x00, 0x00, 0x02,                          // ExpCmdSN
      0x00, 0x00, 0x00, 0x03,                          // MaxCmdSN
      0x00, 0x00, 0x00, 0x04,                          // R2TSN
      0x00, 0x01, 0x00, 0x00,                          // Buffer Offset
      0x00, 0x00, 0x80, 0x00,                          // Desired length
  };
  auto r2t = DecodeR2t(kR2t);
  ASSERT_TRUE(r2t.ok()) << r2t.status();
  EXPECT_EQ(*r2t, (R2tHeader{.lun = 0x0002000000000000,
                             .itt = 9,
                             .ttt = 0x7777,
                             .stat_sn = 1,
                             .exp_cmd_sn = 2,
                             .max_cmd_sn = 3,
                             .r2t_sn = 4,
                             .buffer_offset = 0x10000,
                             .desired_data_transfer_length = 0x8000}));
  EXPECT_EQ(EncodeToArray(*r2t), kR2t);

  LogoutResponseHeader logout{.response = 1, .itt = 2, .time2wait = 0x0203, .time2retain = 0x0405};
  Bytes b = EncodeToArray(logout);
  EXPECT_EQ(b[0], 0x26);
  EXPECT_EQ(b[2], 1);
  EXPECT_EQ(b[40], 0x02);
  EXPECT_EQ(b[41], 0x03);
  EXPECT_EQ(b[42], 0x04);
  EXPECT_EQ(b[43], 0x05);
}

TEST(BhsLayout, OpcodeAndFixedBitsOfEveryType) {
  EXPECT_EQ(EncodeToArray(NopOutHeader{.immediate = true})[0], 0x40);
  EXPECT_EQ(EncodeToArray(NopOutHeader{})[1], 0x80);
  EXPECT_EQ(EncodeToArray(TaskMgmtRequestHeader{.function = 5})[0], 0x02);
  EXPECT_EQ(EncodeToArray(TaskMgmtRequestHeader{.function = 5})[1], 0x85);
  EXPECT_EQ(EncodeToArray(TextRequestHeader{.final = true})[0], 0x04);
  EXPECT_EQ(EncodeToArray(TextRequestHeader{.final = true})[1], 0x80);
  EXPECT_EQ(EncodeToArray(TextRequestHeader{.final = false, .cont = true})[1], 0x40);
  EXPECT_EQ(EncodeToArray(DataOutHeader{.final = true})[0], 0x05);
  EXPECT_EQ(EncodeToArray(DataOutHeader{.final = true})[1], 0x80);
  EXPECT_EQ(EncodeToArray(LogoutRequestHeader{.reason = 1})[0], 0x06);
  EXPECT_EQ(EncodeToArray(LogoutRequestHeader{.reason = 1})[1], 0x81);
  EXPECT_EQ(EncodeToArray(SnackHeader{.type = 2})[0], 0x10);
  EXPECT_EQ(EncodeToArray(SnackHeader{.type = 2})[1], 0x82);
  EXPECT_EQ(EncodeToArray(NopInHeader{})[0], 0x20);
  EXPECT_EQ(EncodeToArray(ScsiResponseHeader{})[0], 0x21);
  EXPECT_EQ(EncodeToArray(ScsiResponseHeader{})[1], 0x80);
  EXPECT_EQ(EncodeToArray(TaskMgmtResponseHeader{})[0], 0x22);
  EXPECT_EQ(EncodeToArray(LoginResponseHeader{})[0], 0x23);
  EXPECT_EQ(EncodeToArray(TextResponseHeader{})[0], 0x24);
  EXPECT_EQ(EncodeToArray(DataInHeader{})[0], 0x25);
  EXPECT_EQ(EncodeToArray(LogoutResponseHeader{})[0], 0x26);
  EXPECT_EQ(EncodeToArray(R2tHeader{})[0], 0x31);
  EXPECT_EQ(EncodeToArray(AsyncMessageHeader{})[0], 0x32);
  EXPECT_EQ(EncodeToArray(RejectHeader{})[0], 0x3f);
  // Unsolicited target PDUs carry the reserved ITT.
  EXPECT_EQ(PeekItt(EncodeToArray(AsyncMessageHeader{})), kReservedTag);
  EXPECT_EQ(PeekItt(EncodeToArray(RejectHeader{})), kReservedTag);
  // Login Response status at bytes 36/37; Async event fields at 36..43.
  Bytes login = EncodeToArray(LoginResponseHeader{.status_class = 2, .status_detail = 1});
  EXPECT_EQ(login[36], 2);
  EXPECT_EQ(login[37], 1);
  Bytes async = EncodeToArray(AsyncMessageHeader{
      .async_event = 1, .async_vcode = 2, .parameter1 = 3, .parameter2 = 4, .parameter3 = 5});
  EXPECT_EQ(async[36], 1);
  EXPECT_EQ(async[37], 2);
  EXPECT_EQ(async[39], 3);
  EXPECT_EQ(async[41], 4);
  EXPECT_EQ(async[43], 5);
}

TEST(BhsLayout, DataSegmentLengthKeepsLow24Bits) {
  Bytes b = EncodeToArray(NopOutHeader{.data_segment_length = 0x12fedcba});
  EXPECT_EQ(b[4], 0);
  EXPECT_EQ(b[5], 0xfe);
  EXPECT_EQ(b[6], 0xdc);
  EXPECT_EQ(b[7], 0xba);
}

// ---- Peek helpers ----

TEST(BhsPeek, CommonFields) {
  Bytes b = EncodeToArray(ScsiCommandHeader{.immediate = true,
                                            .total_ahs_length = 3,
                                            .data_segment_length = 0xa0b0c0,
                                            .itt = 0x01020304});
  EXPECT_EQ(PeekOpcode(b), Opcode::kScsiCommand);
  EXPECT_TRUE(PeekImmediate(b));
  EXPECT_EQ(PeekTotalAhsLength(b), 12u);
  EXPECT_EQ(PeekDataSegmentLength(b), 0xa0b0c0u);
  EXPECT_EQ(PeekItt(b), 0x01020304u);
  b[0] = 0xff;  // reserved bit 7, I bit, opcode 0x3f
  EXPECT_EQ(PeekOpcode(b), Opcode::kReject);
}

TEST(Opcodes, NamesAndClasses) {
  EXPECT_EQ(OpcodeName(Opcode::kScsiCommand), "SCSI-Command");
  EXPECT_EQ(OpcodeName(Opcode::kR2t), "R2T");
  EXPECT_EQ(OpcodeName(static_cast<Opcode>(0x1c)), "Unknown");
  for (int raw = 0; raw < 64; ++raw) {
    const bool initiator = raw <= 0x06 || raw == 0x10;
    const bool target = (raw >= 0x20 && raw <= 0x26) || raw == 0x31 || raw == 0x32 || raw == 0x3f;
    EXPECT_EQ(IsInitiatorOpcode(raw), initiator) << raw;
    EXPECT_EQ(IsTargetOpcode(raw), target) << raw;
    EXPECT_EQ(OpcodeName(static_cast<Opcode>(raw)) != "Unknown", initiator || target) << raw;
  }
}

// ---- Validation on decode ----

template <typename Header>
Bytes Mutated(const Header& h, int index, uint8_t value) {
  Bytes b = EncodeToArray(h);
  b[index] = value;
  return b;
}

void ExpectInvalid(const absl::Status& s, const char* what) {
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(s.message(), HasSubstr(what));
}

TEST(BhsValidation, WrongOpcodeRejectedByEveryDecoder) {
  Bytes b = EncodeToArray(NopOutHeader{});
  b[0] = 0x3c;  // vendor specific
  ExpectInvalid(DecodeNopOut(b).status(), "opcode 0x3c");
  ExpectInvalid(DecodeScsiCommand(b).status(), "opcode");
  ExpectInvalid(DecodeTaskMgmtRequest(b).status(), "opcode");
  ExpectInvalid(DecodeLoginRequest(b).status(), "opcode");
  ExpectInvalid(DecodeTextRequest(b).status(), "opcode");
  ExpectInvalid(DecodeDataOut(b).status(), "opcode");
  ExpectInvalid(DecodeLogoutRequest(b).status(), "opcode");
  ExpectInvalid(DecodeSnack(b).status(), "opcode");
  ExpectInvalid(DecodeNopIn(b).status(), "opcode");
  ExpectInvalid(DecodeScsiResponse(b).status(), "opcode");
  ExpectInvalid(DecodeTaskMgmtResponse(b).status(), "opcode");
  ExpectInvalid(DecodeLoginResponse(b).status(), "opcode");
  ExpectInvalid(DecodeTextResponse(b).status(), "opcode");
  ExpectInvalid(DecodeDataIn(b).status(), "opcode");
  ExpectInvalid(DecodeLogoutResponse(b).status(), "opcode");
  ExpectInvalid(DecodeR2t(b).status(), "opcode");
  ExpectInvalid(DecodeAsyncMessage(b).status(), "opcode");
  ExpectInvalid(DecodeReject(b).status(), "opcode");
  // A Data-In is not a Data-Out even though the low bits match.
  ExpectInvalid(DecodeDataOut(EncodeToArray(DataInHeader{})).status(), "is not SCSI-Data-Out");
}

TEST(BhsValidation, DataSegmentForbidden) {
  ExpectInvalid(DecodeTaskMgmtRequest(Mutated(TaskMgmtRequestHeader{}, 7, 4)).status(),
                "DataSegmentLength 4");
  ExpectInvalid(DecodeLogoutRequest(Mutated(LogoutRequestHeader{}, 5, 1)).status(),
                "DataSegmentLength 65536");
  ExpectInvalid(DecodeSnack(Mutated(SnackHeader{}, 6, 1)).status(), "DataSegmentLength 256");
  ExpectInvalid(DecodeTaskMgmtResponse(Mutated(TaskMgmtResponseHeader{}, 7, 8)).status(),
                "DataSegmentLength");
  ExpectInvalid(DecodeLogoutResponse(Mutated(LogoutResponseHeader{}, 7, 8)).status(),
                "DataSegmentLength");
  R2tHeader r2t{.ttt = 1, .desired_data_transfer_length = 1};
  ExpectInvalid(DecodeR2t(Mutated(r2t, 7, 8)).status(), "DataSegmentLength");
  ExpectInvalid(DecodeR2t(Mutated(r2t, 4, 1)).status(), "TotalAHSLength 1");
  ExpectInvalid(DecodeLogoutResponse(Mutated(LogoutResponseHeader{}, 4, 2)).status(),
                "TotalAHSLength 2");
}

TEST(BhsValidation, FlagCombinations) {
  ExpectInvalid(DecodeLoginRequest(Mutated(LoginRequestHeader{}, 0, 0x03)).status(), "I bit");
  ExpectInvalid(DecodeLoginRequest(Mutated(LoginRequestHeader{}, 1, 0xc0)).status(),
                "both T and C");
  ExpectInvalid(DecodeLoginRequest(Mutated(LoginRequestHeader{}, 1, 0x08)).status(),
                "reserved CSG");
  ExpectInvalid(DecodeLoginRequest(Mutated(LoginRequestHeader{}, 1, 0x82)).status(),
                "reserved NSG");
  // NSG 2 without T is not a transition and is accepted.
  EXPECT_TRUE(DecodeLoginRequest(Mutated(LoginRequestHeader{}, 1, 0x02)).ok());
  ExpectInvalid(DecodeLoginResponse(Mutated(LoginResponseHeader{}, 1, 0xc4)).status(),
                "both T and C");
  ExpectInvalid(DecodeLoginResponse(Mutated(LoginResponseHeader{}, 1, 0x8a)).status(),
                "reserved CSG");
  ExpectInvalid(DecodeTextRequest(Mutated(TextRequestHeader{}, 1, 0xc0)).status(), "both F and C");
  ExpectInvalid(DecodeTextResponse(Mutated(TextResponseHeader{}, 1, 0xc0)).status(),
                "both F and C");
  ExpectInvalid(DecodeScsiResponse(Mutated(ScsiResponseHeader{}, 1, 0x98)).status(),
                "both o and u");
  ExpectInvalid(DecodeScsiResponse(Mutated(ScsiResponseHeader{}, 1, 0x86)).status(),
                "both O and U");
  ExpectInvalid(DecodeDataIn(Mutated(DataInHeader{}, 1, 0x01)).status(), "S set without F");
  ExpectInvalid(DecodeDataIn(Mutated(DataInHeader{}, 1, 0x87)).status(), "both O and U");
  EXPECT_TRUE(DecodeDataIn(Mutated(DataInHeader{}, 1, 0x81)).ok());
}

TEST(BhsValidation, ScsiCommandAttributeAndDirection) {
  ScsiCommandHeader h{.read = true, .expected_data_transfer_length = 512};
  ExpectInvalid(DecodeScsiCommand(Mutated(h, 1, 0xc5)).status(), "reserved task attribute 5");
  // Neither R nor W with data expected.
  ExpectInvalid(DecodeScsiCommand(Mutated(h, 1, 0x81)).status(), "neither R nor W");
  // Neither R nor W is fine without data (e.g. TEST UNIT READY).
  EXPECT_TRUE(DecodeScsiCommand(EncodeToArray(ScsiCommandHeader{})).ok());
}

TEST(BhsValidation, FixedTags) {
  ExpectInvalid(DecodeAsyncMessage(Mutated(AsyncMessageHeader{}, 19, 0)).status(),
                "ITT 0xffffff00");
  ExpectInvalid(DecodeReject(Mutated(RejectHeader{}, 16, 0)).status(), "ITT 0x00ffffff");
  ExpectInvalid(
      DecodeR2t(EncodeToArray(R2tHeader{.ttt = kReservedTag, .desired_data_transfer_length = 1}))
          .status(),
      "reserved Target Transfer Tag");
  ExpectInvalid(DecodeR2t(EncodeToArray(R2tHeader{.ttt = 1})).status(),
                "Desired Data Transfer Length 0");
}

TEST(BhsValidation, ReservedFieldsAreIgnored) {
  // Target PDUs have no I bit; bit 6/7 of byte 0 are reserved and ignored.
  Bytes b = EncodeToArray(NopInHeader{.itt = 5});
  b[0] |= 0xc0;
  b[44] = 0x99;  // reserved tail
  auto d = DecodeNopIn(b);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->itt, 5u);
}

}  // namespace
}  // namespace isergw::iscsi
