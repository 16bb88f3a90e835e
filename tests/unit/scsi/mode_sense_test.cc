#include "iser_client/scsi/mode_sense.h"

#include <vector>

#include "gtest/gtest.h"
#include "iser_client/scsi/cdb.h"

namespace isergw::scsi {
namespace {

// A MODE SENSE(10) answer: header with DEVICE-SPECIFIC PARAMETER `dsp`, no
// block descriptors, then the caching page (0x08, 18 bytes) with `byte2`.
std::vector<uint8_t> Answer(uint8_t dsp, uint8_t byte2) {
  std::vector<uint8_t> a = {0, 0, 0, dsp, 0, 0, 0, 0, 0x08, 18, byte2};
  a.resize(8 + 2 + 18, 0);
  a[1] = static_cast<uint8_t>(a.size() - 2);
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
  std::vector<uint8_t> a = {0, 0, 0, 0x10, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 10};
  a.resize(a.size() + 10, 0xff);
  a.push_back(0x08);
  a.push_back(18);
  a.push_back(0x04);
  a.resize(a.size() + 17, 0);
  a[1] = static_cast<uint8_t>(a.size() - 2);
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
