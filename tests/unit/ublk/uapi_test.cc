#include "ublk/uapi.h"

#include <gtest/gtest.h>

namespace isergw::ublk {
namespace {

// Values from the kernel's include/uapi/linux/ublk_cmd.h (_IOR/_IOWR on 'u').
TEST(UapiTest, IoctlEncodedControlOpcodes) {
  EXPECT_EQ(ControlOpcode(ControlCommand::kGetDevInfo, OpcodeEncoding::kIoctl), 0x80207502u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kAddDev, OpcodeEncoding::kIoctl), 0xc0207504u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kDelDev, OpcodeEncoding::kIoctl), 0xc0207505u);
  // UBLK_U_CMD_DEL_DEV_ASYNC, _IOR('u', 0x14, struct ublksrv_ctrl_cmd).
  EXPECT_EQ(ControlOpcode(ControlCommand::kDelDevAsync, OpcodeEncoding::kIoctl), 0x80207514u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kStartDev, OpcodeEncoding::kIoctl), 0xc0207506u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kStopDev, OpcodeEncoding::kIoctl), 0xc0207507u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kSetParams, OpcodeEncoding::kIoctl), 0xc0207508u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kGetParams, OpcodeEncoding::kIoctl), 0x80207509u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kStartUserRecovery, OpcodeEncoding::kIoctl), 0xc0207510u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kEndUserRecovery, OpcodeEncoding::kIoctl), 0xc0207511u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kGetFeatures, OpcodeEncoding::kIoctl), 0x80207513u);
}

TEST(UapiTest, LegacyControlOpcodesAreTheBareNumbers) {
  EXPECT_EQ(ControlOpcode(ControlCommand::kAddDev, OpcodeEncoding::kLegacy), 0x04u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kSetParams, OpcodeEncoding::kLegacy), 0x08u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kEndUserRecovery, OpcodeEncoding::kLegacy), 0x11u);
  EXPECT_EQ(ControlOpcode(ControlCommand::kGetFeatures, OpcodeEncoding::kLegacy), 0x13u);
}

TEST(UapiTest, IoOpcodes) {
  EXPECT_EQ(IoOpcode(IoCommand::kFetchReq, OpcodeEncoding::kIoctl), 0xc0107520u);
  EXPECT_EQ(IoOpcode(IoCommand::kCommitAndFetchReq, OpcodeEncoding::kIoctl), 0xc0107521u);
  EXPECT_EQ(IoOpcode(IoCommand::kFetchReq, OpcodeEncoding::kLegacy), 0x20u);
  EXPECT_EQ(IoOpcode(IoCommand::kCommitAndFetchReq, OpcodeEncoding::kLegacy), 0x21u);
}

TEST(UapiTest, DescriptorAreasArePagesSpacedByTheMaximumDepth) {
  EXPECT_EQ(DescriptorAreaBytes(1, 4096), 4096u);
  EXPECT_EQ(DescriptorAreaBytes(128, 4096), 4096u);    // 3072 bytes
  EXPECT_EQ(DescriptorAreaBytes(171, 4096), 8192u);    // 4104 bytes
  EXPECT_EQ(DescriptorAreaBytes(4096, 4096), 98304u);  // 24 pages
  EXPECT_EQ(DescriptorAreaOffset(0, 4096), 0u);
  // Queue 1 starts after a full-depth area even for a shallow device.
  EXPECT_EQ(DescriptorAreaOffset(1, 4096), 98304u);
  EXPECT_EQ(DescriptorAreaOffset(3, 4096), 3u * 98304u);
}

TEST(UapiTest, Names) {
  EXPECT_STREQ(ControlCommandName(ControlCommand::kStartUserRecovery), "start_user_recovery");
  EXPECT_STREQ(DeviceStateName(UBLK_S_DEV_QUIESCED), "quiesced");
  EXPECT_STREQ(DeviceStateName(UBLK_S_DEV_LIVE), "live");
  EXPECT_STREQ(DeviceStateName(77), "unknown");
}

}  // namespace
}  // namespace isergw::ublk
