#include "iser_client/scsi/sense.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace isergw::scsi {
namespace {

// Fixed format, current, VALID, MEDIUM ERROR, information 0x00012345,
// ASC/ASCQ 11/00: what LIO returns for an unrecovered read at LBA 0x12345.
const std::vector<uint8_t> kFixedMediumError = {
    0xf0, 0x00, 0x03, 0x00, 0x01, 0x23, 0x45, 0x0a,  // 8-byte header, addl len 10
    0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00};

TEST(SenseTest, FixedFormatFull) {
  absl::StatusOr<SenseData> s = DecodeSense(kFixedMediumError);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->response_code, 0x70);
  EXPECT_FALSE(s->descriptor_format);
  EXPECT_FALSE(s->deferred);
  EXPECT_EQ(s->key, SenseKey::kMediumError);
  EXPECT_EQ(s->asc, 0x11);
  EXPECT_EQ(s->ascq, 0x00);
  EXPECT_TRUE(s->information_valid);
  EXPECT_EQ(s->information, 0x12345u);
}

TEST(SenseTest, FixedFormatWithoutValidBitIgnoresInformation) {
  std::vector<uint8_t> b = kFixedMediumError;
  b[0] = 0x70;
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->information_valid);
  EXPECT_EQ(s->information, 0u);
}

TEST(SenseTest, FixedDeferred) {
  std::vector<uint8_t> b = kFixedMediumError;
  b[0] = 0x71;
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->deferred);
  EXPECT_EQ(s->response_code, 0x71);
}

TEST(SenseTest, FixedShortAdditionalLengthHidesAsc) {
  // ADDITIONAL SENSE LENGTH 4 covers bytes 8..11 only: ASC/ASCQ bytes exist
  // in the buffer but are not part of the sense data.
  std::vector<uint8_t> b = kFixedMediumError;
  b[7] = 4;
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->key, SenseKey::kMediumError);
  EXPECT_EQ(s->asc, 0);
  EXPECT_EQ(s->ascq, 0);
}

TEST(SenseTest, FixedTruncatedBufferReadsOnlyPresentBytes) {
  // Claims 10 additional bytes, only 13 bytes present: ASC yes, ASCQ no.
  std::vector<uint8_t> b(kFixedMediumError.begin(), kFixedMediumError.begin() + 13);
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->asc, 0x11);
  EXPECT_EQ(s->ascq, 0);
  // Three bytes are enough for the key.
  absl::StatusOr<SenseData> tiny = DecodeSense(std::vector<uint8_t>{0x70, 0x00, 0x06});
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->key, SenseKey::kUnitAttention);
  EXPECT_FALSE(DecodeSense(std::vector<uint8_t>{0x70, 0x00}).ok());
}

TEST(SenseTest, FixedHostileAdditionalLength) {
  std::vector<uint8_t> b = kFixedMediumError;
  b[7] = 0xff;  // claims 255 more bytes than exist
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->asc, 0x11);
}

// Descriptor format, current, ILLEGAL REQUEST 21/00, with an Information
// descriptor carrying LBA 0x0000000102030405.
const std::vector<uint8_t> kDescriptorLbaOutOfRange = {
    0x72, 0x05, 0x21, 0x00, 0x00, 0x00, 0x00, 0x0c,  // header, addl len 12
    0x00, 0x0a, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05};

TEST(SenseTest, DescriptorFormatWithInformation) {
  absl::StatusOr<SenseData> s = DecodeSense(kDescriptorLbaOutOfRange);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->descriptor_format);
  EXPECT_FALSE(s->deferred);
  EXPECT_EQ(s->key, SenseKey::kIllegalRequest);
  EXPECT_EQ(s->asc, 0x21);
  EXPECT_EQ(s->ascq, 0x00);
  EXPECT_TRUE(s->information_valid);
  EXPECT_EQ(s->information, 0x0102030405u);
}

TEST(SenseTest, DescriptorFormatSkipsOtherDescriptors) {
  // A sense-key-specific descriptor (type 2, 6 bytes) before the information one.
  std::vector<uint8_t> b = {0x73, 0x03, 0x11, 0x00, 0, 0, 0, 20, 0x02, 0x06, 0x80, 0,    0,   0, 0,
                            0,    0x00, 0x0a, 0x80, 0, 0, 0, 0,  0,    0,    0,    0x10, 0x00};
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->deferred);
  EXPECT_EQ(s->key, SenseKey::kMediumError);
  EXPECT_TRUE(s->information_valid);
  EXPECT_EQ(s->information, 0x1000u);
}

TEST(SenseTest, DescriptorOverrunningItsLengthIsIgnored) {
  std::vector<uint8_t> b = kDescriptorLbaOutOfRange;
  b[9] = 0x30;  // information descriptor claims 48 bytes
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->asc, 0x21);
  EXPECT_FALSE(s->information_valid);
  // Buffer cut inside the descriptor while the header claims all of it.
  std::vector<uint8_t> cut(kDescriptorLbaOutOfRange.begin(), kDescriptorLbaOutOfRange.begin() + 14);
  s = DecodeSense(cut);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->information_valid);
}

TEST(SenseTest, DescriptorBeyondAdditionalLengthIsNotRead) {
  // The buffer holds a valid Information descriptor, but ADDITIONAL SENSE
  // LENGTH 4 says the sense data ends inside it.
  std::vector<uint8_t> b = kDescriptorLbaOutOfRange;
  b[7] = 4;
  absl::StatusOr<SenseData> s = DecodeSense(b);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->asc, 0x21);
  EXPECT_FALSE(s->information_valid);
  EXPECT_EQ(s->information, 0u);
}

TEST(SenseTest, DescriptorMinimal) {
  absl::StatusOr<SenseData> s = DecodeSense(std::vector<uint8_t>{0x72, 0x06, 0x29});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->key, SenseKey::kUnitAttention);
  EXPECT_EQ(s->asc, 0x29);
  EXPECT_EQ(s->ascq, 0);
  EXPECT_FALSE(DecodeSense(std::vector<uint8_t>{0x72}).ok());
}

TEST(SenseTest, RejectsEmptyAndUnknownResponseCodes) {
  EXPECT_EQ(DecodeSense({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSense(std::vector<uint8_t>{0x7f, 0, 0, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeSense(std::vector<uint8_t>{0x00, 0, 5, 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(IscsiSenseSegmentTest, DecodesSenseAfterLengthPrefix) {
  std::vector<uint8_t> seg = {0x00, static_cast<uint8_t>(kFixedMediumError.size())};
  seg.insert(seg.end(), kFixedMediumError.begin(), kFixedMediumError.end());
  seg.push_back(0xaa);  // response data after the sense, ignored
  seg.push_back(0xbb);
  absl::StatusOr<std::optional<SenseData>> s = DecodeIscsiSenseSegment(seg);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->key, SenseKey::kMediumError);
  EXPECT_EQ((*s)->asc, 0x11);
}

TEST(IscsiSenseSegmentTest, SenseLengthLimitsTheSenseBytes) {
  // SenseLength 13 cuts before ASCQ even though more bytes follow.
  std::vector<uint8_t> seg = {0x00, 13};
  seg.insert(seg.end(), kFixedMediumError.begin(), kFixedMediumError.end());
  seg[2 + 13] = 0x99;  // would be ASCQ if it were read
  absl::StatusOr<std::optional<SenseData>> s = DecodeIscsiSenseSegment(seg);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->asc, 0x11);
  EXPECT_EQ((*s)->ascq, 0x00);
}

TEST(IscsiSenseSegmentTest, EmptyOrZeroLengthMeansNoSense) {
  absl::StatusOr<std::optional<SenseData>> s = DecodeIscsiSenseSegment({});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->has_value());
  s = DecodeIscsiSenseSegment(std::vector<uint8_t>{0, 0, 0xde, 0xad});
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->has_value());
}

TEST(IscsiSenseSegmentTest, HostileLengths) {
  EXPECT_FALSE(DecodeIscsiSenseSegment(std::vector<uint8_t>{0x00}).ok());
  // Claims 18 bytes, carries 4.
  absl::StatusOr<std::optional<SenseData>> s =
      DecodeIscsiSenseSegment(std::vector<uint8_t>{0x00, 18, 0x70, 0, 3, 0});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  s = DecodeIscsiSenseSegment(std::vector<uint8_t>{0xff, 0xff, 0x70, 0, 3, 0});
  EXPECT_FALSE(s.ok());
  // Well framed but the sense itself is bad.
  s = DecodeIscsiSenseSegment(std::vector<uint8_t>{0x00, 2, 0x70, 0});
  EXPECT_FALSE(s.ok());
}

TEST(SenseTextTest, KeyNames) {
  EXPECT_EQ(SenseKeyName(SenseKey::kMediumError), "MEDIUM ERROR");
  EXPECT_EQ(SenseKeyName(SenseKey::kIllegalRequest), "ILLEGAL REQUEST");
  EXPECT_EQ(SenseKeyName(SenseKey::kUnitAttention), "UNIT ATTENTION");
  EXPECT_EQ(SenseKeyName(SenseKey::kDataProtect), "DATA PROTECT");
  EXPECT_EQ(SenseKeyName(SenseKey::kAbortedCommand), "ABORTED COMMAND");
  EXPECT_EQ(SenseKeyName(SenseKey::kMiscompare), "MISCOMPARE");
}

TEST(SenseTextTest, CommonAscAscq) {
  EXPECT_EQ(AscAscqText(0x25, 0x00), "LOGICAL UNIT NOT SUPPORTED");
  EXPECT_EQ(AscAscqText(0x21, 0x00), "LOGICAL BLOCK ADDRESS OUT OF RANGE");
  EXPECT_EQ(AscAscqText(0x29, 0x00), "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED");
  EXPECT_EQ(AscAscqText(0x29, 0x07), "I_T NEXUS LOSS OCCURRED");
  EXPECT_EQ(AscAscqText(0x2a, 0x09), "CAPACITY DATA HAS CHANGED");
  EXPECT_EQ(AscAscqText(0x04, 0x01), "LOGICAL UNIT IS IN PROCESS OF BECOMING READY");
  EXPECT_EQ(AscAscqText(0x27, 0x00), "WRITE PROTECTED");
  EXPECT_EQ(AscAscqText(0x27, 0x07), "SPACE ALLOCATION FAILED WRITE PROTECT");
  EXPECT_EQ(AscAscqText(0x20, 0x00), "INVALID COMMAND OPERATION CODE");
  EXPECT_EQ(AscAscqText(0x24, 0x00), "INVALID FIELD IN CDB");
  EXPECT_EQ(AscAscqText(0x11, 0x00), "UNRECOVERED READ ERROR");
  EXPECT_EQ(AscAscqText(0x3f, 0x0e), "REPORTED LUNS DATA HAS CHANGED");
  EXPECT_EQ(AscAscqText(0x1d, 0x00), "MISCOMPARE DURING VERIFY OPERATION");
  EXPECT_EQ(AscAscqText(0x7e, 0x42), "");
}

TEST(SenseTextTest, Describe) {
  SenseData s;
  s.key = SenseKey::kMediumError;
  s.asc = 0x11;
  EXPECT_EQ(DescribeSense(s), "MEDIUM ERROR: UNRECOVERED READ ERROR (sense 3/11/00)");
  s.key = SenseKey::kAbortedCommand;
  s.asc = 0x7e;
  s.ascq = 0x42;
  s.deferred = true;
  EXPECT_EQ(DescribeSense(s), "deferred ABORTED COMMAND: ASC 0x7e ASCQ 0x42 (sense b/7e/42)");
}

}  // namespace
}  // namespace isergw::scsi
