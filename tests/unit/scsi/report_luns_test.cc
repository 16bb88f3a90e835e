#include "iser_client/scsi/report_luns.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace isergw::scsi {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Three LUNs: 0 (peripheral), 1 (peripheral), 300 (flat space 0x412c).
std::vector<uint8_t> ThreeLuns() {
  return {0,    0,    0, 24, 0, 0, 0, 0,   // header: list length 24
          0x00, 0x00, 0, 0,  0, 0, 0, 0,   // LUN 0
          0x00, 0x01, 0, 0,  0, 0, 0, 0,   // LUN 1
          0x41, 0x2c, 0, 0,  0, 0, 0, 0};  // LUN 300
}

TEST(ReportLunsTest, Decodes) {
  absl::StatusOr<ReportLuns> r = DecodeReportLuns(ThreeLuns());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->luns, ElementsAre(0u, 1u, 300u));
  EXPECT_FALSE(r->truncated);
  EXPECT_EQ(r->skipped_entries, 0u);
  EXPECT_EQ(r->required_allocation_length, 32u);
}

TEST(ReportLunsTest, EmptyList) {
  const std::vector<uint8_t> d = {0, 0, 0, 0, 0, 0, 0, 0};
  absl::StatusOr<ReportLuns> r = DecodeReportLuns(d);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->luns, IsEmpty());
  EXPECT_FALSE(r->truncated);
}

TEST(ReportLunsTest, TruncatedByAllocationLength) {
  std::vector<uint8_t> d = ThreeLuns();
  d.resize(16 + 4);  // one whole entry, half of the next
  absl::StatusOr<ReportLuns> r = DecodeReportLuns(d);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->luns, ElementsAre(0u));
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->required_allocation_length, 32u);
}

TEST(ReportLunsTest, HostileListLengthReadsOnlyPresentEntries) {
  std::vector<uint8_t> d = ThreeLuns();
  d[0] = 0xff;
  d[1] = 0xff;
  d[2] = 0xff;
  d[3] = 0xf8;
  absl::StatusOr<ReportLuns> r = DecodeReportLuns(d);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->luns, ElementsAre(0u, 1u, 300u));
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->required_allocation_length, size_t{8} + 0xfffffff8u);
}

TEST(ReportLunsTest, ShorterListLengthThanBufferIgnoresTheRest) {
  std::vector<uint8_t> d = ThreeLuns();
  d[3] = 8;
  absl::StatusOr<ReportLuns> r = DecodeReportLuns(d);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->luns, ElementsAre(0u));
  EXPECT_FALSE(r->truncated);
}

TEST(ReportLunsTest, SkipsUnsupportedAddressing) {
  std::vector<uint8_t> d = ThreeLuns();
  d[16] = 0xc1;  // LUN 1 entry becomes the REPORT LUNS well-known LUN C101
  absl::StatusOr<ReportLuns> r = DecodeReportLuns(d);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->luns, ElementsAre(0u, 300u));
  EXPECT_EQ(r->skipped_entries, 1u);
}

TEST(ReportLunsTest, RejectsMalformed) {
  EXPECT_FALSE(DecodeReportLuns(std::vector<uint8_t>{0, 0, 0, 8, 0, 0, 0}).ok());
  std::vector<uint8_t> d = ThreeLuns();
  d[3] = 20;  // not a multiple of 8
  EXPECT_EQ(DecodeReportLuns(d).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace isergw::scsi
