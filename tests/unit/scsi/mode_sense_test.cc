#include "iser_client/scsi/mode_sense.h"

#include <vector>

#include "gtest/gtest.h"
#include "iser_client/scsi/cdb.h"

namespace isergw::scsi {
namespace {

// A MODE SENSE(10) answer: header with DEVICE-SPECIFIC PARAMETER `dsp`, no
// block descriptors, then the caching page (0x08, 18 bytes) with `byte2`.
std::vector<uint8_t> Answer(uint8_t dsp, uint8_t byte2) {
  std::vector<uint8_t> a(8 + 2 + 18, 0);
  a[1] = static_cast<uint8_t>(a.size() - 2);
  a[3] = dsp;
  a[8] = 0x08;
  a[9] = 18;
  a[10] = byte2;
  return a;
}

TEST(ModeSenseTest, CdbAsksForCurrentValuesWithoutBlockDescriptors) {
  Cdb cdb = MakeModeSense10(kCachingModePage, 192);
  ASSERT_EQ(cdb.length, 10);
  EXPECT_EQ(cdb.bytes[0], 0x5a);
  EXPECT_EQ(cdb.bytes[1], 0x08);
  EXPECT_EQ(cdb.bytes[2], 0x08);
  EXPECT_EQ(cdb.bytes[7], 0);
  EXPECT_EQ(cdb.bytes[8], 192);
}

TEST(ModeSenseTest, WriteCacheAndFuaBitsAreRead) {
  auto mode = DecodeCachingModeSense10(Answer(0x10, 0x04));
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_TRUE(mode->write_cache_enabled);
  EXPECT_TRUE(mode->dpofua);
  EXPECT_FALSE(mode->write_protected);

  mode = DecodeCachingModeSense10(Answer(0x80, 0x01));
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_FALSE(mode->write_cache_enabled);
  EXPECT_FALSE(mode->dpofua);
  EXPECT_TRUE(mode->read_cache_disabled);
  EXPECT_TRUE(mode->write_protected);
}

TEST(ModeSenseTest, BlockDescriptorsAndOtherPagesAreSkipped) {
  // 8-byte block descriptor, then a control page (0x0a, 10 bytes), then caching.
  std::vector<uint8_t> a(8 + 8 + 12 + 20, 0);
  a[1] = static_cast<uint8_t>(a.size() - 2);
  a[3] = 0x10;
  a[7] = 8;
  for (int i = 0; i < 8; ++i) a[8 + i] = static_cast<uint8_t>(i + 1);
  a[16] = 0x0a;
  a[17] = 10;
  for (int i = 0; i < 10; ++i) a[18 + i] = 0xff;
  a[28] = 0x08;
  a[29] = 18;
  a[30] = 0x04;
  auto mode = DecodeCachingModeSense10(a);
  ASSERT_TRUE(mode.ok()) << mode.status();
  EXPECT_TRUE(mode->write_cache_enabled);
  EXPECT_TRUE(mode->dpofua);
}

TEST(ModeSenseTest, HostileLengthsAreRefused) {
  EXPECT_FALSE(DecodeCachingModeSense10(std::vector<uint8_t>{0, 6, 0, 0}).ok());
  std::vector<uint8_t> a = Answer(0, 0x04);
  a[9] = 200;  // the page claims more than the answer holds
  EXPECT_FALSE(DecodeCachingModeSense10(a).ok());
  std::vector<uint8_t> no_page = {0, 6, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(DecodeCachingModeSense10(no_page).status().code(), absl::StatusCode::kNotFound);
  // MODE DATA LENGTH shorter than the data: what lies past it is not read.
  std::vector<uint8_t> cut = Answer(0x10, 0x04);
  cut[1] = 6;
  EXPECT_FALSE(DecodeCachingModeSense10(cut).ok());
}

}  // namespace
}  // namespace isergw::scsi
