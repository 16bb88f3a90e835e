#include "iser_client/scsi/inquiry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/scsi/test_bytes.h"

namespace isergw::scsi {
namespace {

using ::isergw::scsi::testing::AppendAscii;
using ::testing::ElementsAre;

// Standard INQUIRY laid out like LIO's answer for a block backstore:
// disk, SPC-3, HiSup + format 2, TPGS implicit ALUA + 3PC, CmdQue,
// "LIO-ORG " / "block0          " / "4.0 ".
std::vector<uint8_t> LioStandardInquiry() {
  std::vector<uint8_t> d = {0x00, 0x00, 0x05, 0x12, 31, 0x18, 0x00, 0x02};
  AppendAscii(d, "LIO-ORG ");
  AppendAscii(d, "block0          ");
  AppendAscii(d, "4.0 ");
  return d;
}

TEST(StandardInquiryTest, DecodesLioAnswer) {
  absl::StatusOr<StandardInquiry> inq = DecodeStandardInquiry(LioStandardInquiry());
  ASSERT_TRUE(inq.ok()) << inq.status();
  EXPECT_EQ(inq->peripheral_qualifier, 0);
  EXPECT_EQ(inq->device_type, kDeviceTypeDisk);
  EXPECT_TRUE(inq->present());
  EXPECT_FALSE(inq->removable);
  EXPECT_EQ(inq->version, 0x05);
  EXPECT_EQ(inq->response_data_format, 2);
  EXPECT_TRUE(inq->hisup);
  EXPECT_EQ(inq->tpgs, 1);
  EXPECT_FALSE(inq->protect);
  EXPECT_TRUE(inq->cmdque);
  EXPECT_EQ(inq->vendor, "LIO-ORG");
  EXPECT_EQ(inq->product, "block0");
  EXPECT_EQ(inq->revision, "4.0");
}

TEST(StandardInquiryTest, QualifierAndTypeAndNulPadding) {
  std::vector<uint8_t> d = LioStandardInquiry();
  d[0] = 0x7f;  // qualifier 3, type 0x1f: no LU at this LUN
  d[1] = 0x80;
  d[5] = 0x01;  // PROTECT
  // NUL padded product, leading blank in vendor.
  const char product[16] = {'d', 'i', 's', 'k'};
  std::copy(product, product + 16, d.begin() + 16);
  d[8] = ' ';
  absl::StatusOr<StandardInquiry> inq = DecodeStandardInquiry(d);
  ASSERT_TRUE(inq.ok());
  EXPECT_EQ(inq->peripheral_qualifier, kQualifierNotSupported);
  EXPECT_EQ(inq->device_type, 0x1f);
  EXPECT_FALSE(inq->present());
  EXPECT_TRUE(inq->removable);
  EXPECT_TRUE(inq->protect);
  EXPECT_EQ(inq->tpgs, 0);
  EXPECT_EQ(inq->product, "disk");
  EXPECT_EQ(inq->vendor, "IO-ORG");
}

TEST(StandardInquiryTest, LongerClaimThanBufferIsFine) {
  std::vector<uint8_t> d = LioStandardInquiry();
  d[4] = 91;  // target has 96 bytes, we asked for 36
  EXPECT_TRUE(DecodeStandardInquiry(d).ok());
}

TEST(StandardInquiryTest, RejectsShortData) {
  std::vector<uint8_t> d = LioStandardInquiry();
  d.resize(35);
  EXPECT_EQ(DecodeStandardInquiry(d).status().code(), absl::StatusCode::kInvalidArgument);
  d = LioStandardInquiry();
  d[4] = 30;  // 36 bytes present but the target says only 35 are valid
  EXPECT_FALSE(DecodeStandardInquiry(d).ok());
  EXPECT_FALSE(DecodeStandardInquiry(std::vector<uint8_t>{0, 0, 5, 2}).ok());
}

TEST(VpdTest, SupportedPages) {
  const std::vector<uint8_t> d = {0x00, 0x00, 0x00, 0x06, 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2};
  absl::StatusOr<std::vector<uint8_t>> pages = DecodeSupportedVpdPages(d);
  ASSERT_TRUE(pages.ok()) << pages.status();
  EXPECT_THAT(*pages, ElementsAre(0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2));
  // Bytes after PAGE LENGTH are not pages.
  std::vector<uint8_t> extra = d;
  extra[3] = 3;
  EXPECT_THAT(DecodeSupportedVpdPages(extra).value(), ElementsAre(0x00, 0x80, 0x83));
}

TEST(VpdTest, HeaderChecks) {
  // Wrong page.
  const std::vector<uint8_t> wrong = {0x00, 0x80, 0x00, 0x01, 0x00};
  EXPECT_EQ(DecodeSupportedVpdPages(wrong).status().code(), absl::StatusCode::kInvalidArgument);
  // Claims more than received.
  const std::vector<uint8_t> claims = {0x00, 0x00, 0x01, 0x00, 0x00, 0x80};
  EXPECT_EQ(DecodeSupportedVpdPages(claims).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(VpdRequiredLength(claims).value(), 260u);
  // Shorter than the header.
  EXPECT_FALSE(DecodeSupportedVpdPages(std::vector<uint8_t>{0x00, 0x00, 0x00}).ok());
  EXPECT_FALSE(VpdRequiredLength(std::vector<uint8_t>{0x00, 0x00, 0x00}).ok());
}

TEST(VpdTest, UnitSerialNumber) {
  std::vector<uint8_t> d = {0x00, 0x80, 0x00, 36};
  AppendAscii(d, "  3f1c2a3b-7d44-4c63-9c0a-5d1e2f3a4b");
  absl::StatusOr<std::string> sn = DecodeUnitSerialNumber(d);
  ASSERT_TRUE(sn.ok()) << sn.status();
  EXPECT_EQ(sn.value(), "3f1c2a3b-7d44-4c63-9c0a-5d1e2f3a4b");
  d[3] = 40;
  EXPECT_EQ(DecodeUnitSerialNumber(d).status().code(), absl::StatusCode::kDataLoss);
}

// VPD 0x83 as LIO builds it: NAA 6 (0x6001405 + vendor specific), T10 vendor
// ID "LIO-ORG " + serial, relative target port 1, target port group 0, and
// the iSCSI target port name.
std::vector<uint8_t> LioDeviceId() {
  std::vector<uint8_t> body = {0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde,
                               0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12,  // NAA 6
                               0x02, 0x01, 0x00, 0x0c};
  AppendAscii(body, "LIO-ORG 3f1c");  // T10 vendor ID
  const std::vector<uint8_t> rest = {0x51, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x51, 0x95,
                                     0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x53, 0x98, 0x00, 0x14};
  body.insert(body.end(), rest.begin(), rest.end());
  AppendAscii(body, "iqn.2003-01.x,t,0x01");
  std::vector<uint8_t> d = {0x00, 0x83, 0x00, static_cast<uint8_t>(body.size())};
  d.insert(d.end(), body.begin(), body.end());
  return d;
}

TEST(DeviceIdTest, DecodesAllDesignators) {
  absl::StatusOr<DeviceIdentification> id = DecodeDeviceIdentification(LioDeviceId());
  ASSERT_TRUE(id.ok()) << id.status();
  ASSERT_EQ(id->designators.size(), 5u);
  const Designator& naa = id->designators[0];
  EXPECT_EQ(naa.designator_type, static_cast<uint8_t>(DesignatorType::kNaa));
  EXPECT_EQ(naa.code_set, static_cast<uint8_t>(CodeSet::kBinary));
  EXPECT_EQ(naa.association, static_cast<uint8_t>(Association::kLogicalUnit));
  EXPECT_EQ(naa.value.size(), 16u);
  const Designator& t10 = id->designators[1];
  EXPECT_EQ(t10.designator_type, static_cast<uint8_t>(DesignatorType::kT10VendorId));
  EXPECT_EQ(std::string(t10.value.begin(), t10.value.end()), "LIO-ORG 3f1c");
  const Designator& port = id->designators[2];
  EXPECT_EQ(port.protocol_identifier, 5);
  EXPECT_TRUE(port.piv);
  EXPECT_EQ(port.association, static_cast<uint8_t>(Association::kTargetPort));
  EXPECT_EQ(port.designator_type, static_cast<uint8_t>(DesignatorType::kRelativeTargetPort));
  EXPECT_THAT(port.value, ElementsAre(0, 0, 0, 1));
  EXPECT_EQ(id->designators[3].designator_type,
            static_cast<uint8_t>(DesignatorType::kTargetPortGroup));
  EXPECT_EQ(id->designators[4].designator_type,
            static_cast<uint8_t>(DesignatorType::kScsiNameString));
  EXPECT_EQ(id->designators[4].code_set, static_cast<uint8_t>(CodeSet::kUtf8));
  EXPECT_EQ(id->Wwn(), "naa.6001405abcdef0123456789abcdef012");
}

// Builds a 0x83 page from (header bytes, value) designators.
std::vector<uint8_t> Page83(const std::vector<std::vector<uint8_t>>& designators) {
  std::vector<uint8_t> body;
  for (const auto& d : designators) body.insert(body.end(), d.begin(), d.end());
  std::vector<uint8_t> page = {0x00, 0x83, static_cast<uint8_t>(body.size() >> 8),
                               static_cast<uint8_t>(body.size())};
  page.insert(page.end(), body.begin(), body.end());
  return page;
}

const std::vector<uint8_t> kNaa5 = {0x01, 0x03, 0x00, 0x08, 0x50, 0x01,
                                    0x40, 0x51, 0x22, 0x33, 0x44, 0x55};
const std::vector<uint8_t> kNaa6 = {0x01, 0x03, 0x00, 0x10, 0x60, 0x01, 0x40, 0x5a, 0, 0,
                                    0,    0,    0,    0,    0,    0,    0,    0,    0, 0x01};
const std::vector<uint8_t> kNaa3 = {0x01, 0x03, 0x00, 0x08, 0x3a, 0xbb,
                                    0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11};
const std::vector<uint8_t> kEui64 = {0x01, 0x02, 0x00, 0x08, 0x00, 0x11,
                                     0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
const std::vector<uint8_t> kT10 = {0x02, 0x01, 0x00, 0x0c, 'I', 'E', 'T', ' ',
                                   ' ',  ' ',  ' ',  ' ',  'd', 'i', 's', 'k'};
// NAA 6 but associated with the target port: never the LU's WWN.
const std::vector<uint8_t> kPortNaa6 = {0x01, 0x13, 0x00, 0x10, 0x6f, 0xff, 0xff, 0xff, 0, 0,
                                        0,    0,    0,    0,    0,    0,    0,    0,    0, 0x09};

TEST(DeviceIdTest, WwnPreference) {
  auto wwn = [](const std::vector<std::vector<uint8_t>>& ds) {
    return DecodeDeviceIdentification(Page83(ds)).value().Wwn();
  };
  EXPECT_EQ(wwn({kT10, kEui64, kNaa3, kNaa5, kNaa6}), "naa.6001405a000000000000000000000001");
  EXPECT_EQ(wwn({kT10, kNaa5, kEui64, kNaa3}), "naa.5001405122334455");
  EXPECT_EQ(wwn({kEui64, kNaa3, kT10}), "naa.3abbccddeeff0011");
  EXPECT_EQ(wwn({kT10, kEui64}), "eui.0011223344556677");
  EXPECT_EQ(wwn({kT10}), "t10.IET     disk");
  EXPECT_EQ(wwn({kPortNaa6, kT10}), "t10.IET     disk");
  EXPECT_EQ(wwn({kPortNaa6}), std::nullopt);
  EXPECT_EQ(wwn({}), std::nullopt);
}

TEST(DeviceIdTest, WwnSkipsMalformedNaa) {
  // NAA 6 with only 8 bytes is not a valid registered extended name.
  std::vector<uint8_t> short6 = {0x01, 0x03, 0x00, 0x08, 0x60, 1, 2, 3, 4, 5, 6, 7};
  absl::StatusOr<DeviceIdentification> id = DecodeDeviceIdentification(Page83({short6, kEui64}));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->Wwn(), "eui.0011223344556677");
}

TEST(DeviceIdTest, RejectsDesignatorOverrunningPage) {
  std::vector<uint8_t> page = Page83({kNaa5});
  page[4 + 3] = 0x20;  // designator claims 32 bytes, page has 8
  EXPECT_EQ(DecodeDeviceIdentification(page).status().code(), absl::StatusCode::kInvalidArgument);
  // A trailing partial header.
  std::vector<uint8_t> tail = Page83({kNaa5, {0x01, 0x03}});
  EXPECT_FALSE(DecodeDeviceIdentification(tail).ok());
  // Page length beyond the buffer.
  std::vector<uint8_t> cut = LioDeviceId();
  cut.resize(cut.size() - 1);
  EXPECT_EQ(DecodeDeviceIdentification(cut).status().code(), absl::StatusCode::kDataLoss);
}

// VPD 0xB0, SBC-3 64-byte layout.
std::vector<uint8_t> BlockLimitsPage() {
  std::vector<uint8_t> d(64, 0);
  d[1] = 0xb0;
  d[3] = 0x3c;
  d[4] = 0x01;                               // WSNZ
  d[5] = 0x01;                               // max COMPARE AND WRITE
  d[6] = 0x00, d[7] = 0x08;                  // optimal granularity 8
  d[8] = 0x00, d[9] = 0x00, d[10] = 0x20;    // max transfer 0x2000
  d[12] = 0x00, d[13] = 0x00, d[14] = 0x04;  // optimal transfer 0x400
  d[19] = 0x10;                              // max prefetch 0x10
  d[20] = 0x00, d[21] = 0x40;                // max unmap LBA count 0x400000
  d[27] = 0x01;                              // max unmap descriptors 1
  d[30] = 0x00, d[31] = 0x08;                // optimal unmap granularity 8
  d[32] = 0x80, d[35] = 0x02;                // UGAVALID, alignment 2
  d[39] = 0x01;                              // max write same 0x0100000000
  d[41] = 0x00;
  return d;
}

TEST(BlockLimitsTest, DecodesFullPage) {
  absl::StatusOr<BlockLimits> bl = DecodeBlockLimits(BlockLimitsPage());
  ASSERT_TRUE(bl.ok()) << bl.status();
  EXPECT_TRUE(bl->wsnz);
  EXPECT_EQ(bl->max_compare_and_write_length, 1);
  EXPECT_EQ(bl->optimal_transfer_length_granularity, 8);
  EXPECT_EQ(bl->max_transfer_length, 0x2000u);
  EXPECT_EQ(bl->optimal_transfer_length, 0x400u);
  EXPECT_EQ(bl->max_prefetch_length, 0x10u);
  EXPECT_EQ(bl->max_unmap_lba_count, 0x400000u);
  EXPECT_EQ(bl->max_unmap_block_descriptor_count, 1u);
  EXPECT_EQ(bl->optimal_unmap_granularity, 8u);
  EXPECT_TRUE(bl->unmap_granularity_alignment_valid);
  EXPECT_EQ(bl->unmap_granularity_alignment, 2u);
  EXPECT_EQ(bl->max_write_same_length, 0x1'0000'0000u);
}

TEST(BlockLimitsTest, Sbc2ShortPageLeavesLaterFieldsZero) {
  std::vector<uint8_t> d = BlockLimitsPage();
  d[3] = 0x0c;  // SBC-2 page ends after OPTIMAL TRANSFER LENGTH
  absl::StatusOr<BlockLimits> bl = DecodeBlockLimits(d);  // buffer still has 64 bytes
  ASSERT_TRUE(bl.ok()) << bl.status();
  EXPECT_EQ(bl->max_transfer_length, 0x2000u);
  EXPECT_EQ(bl->optimal_transfer_length, 0x400u);
  EXPECT_EQ(bl->max_unmap_lba_count, 0u);
  EXPECT_EQ(bl->max_unmap_block_descriptor_count, 0u);
  EXPECT_FALSE(bl->unmap_granularity_alignment_valid);
  EXPECT_EQ(bl->max_write_same_length, 0u);
  // PAGE LENGTH 0x24 covers the unmap fields but not MAX WRITE SAME.
  d[3] = 0x24;
  d.resize(40);
  bl = DecodeBlockLimits(d);
  ASSERT_TRUE(bl.ok());
  EXPECT_EQ(bl->max_unmap_lba_count, 0x400000u);
  EXPECT_TRUE(bl->unmap_granularity_alignment_valid);
  EXPECT_EQ(bl->max_write_same_length, 0u);
}

TEST(BlockLimitsTest, RejectsShortAndHostile) {
  std::vector<uint8_t> d = BlockLimitsPage();
  d[3] = 0x08;  // below the SBC minimum of 12
  EXPECT_EQ(DecodeBlockLimits(d).status().code(), absl::StatusCode::kInvalidArgument);
  d = BlockLimitsPage();
  d.resize(40);  // page says 64 bytes
  EXPECT_EQ(DecodeBlockLimits(d).status().code(), absl::StatusCode::kDataLoss);
  d = BlockLimitsPage();
  d[1] = 0xb2;
  EXPECT_FALSE(DecodeBlockLimits(d).ok());
}

TEST(ProvisioningTest, DecodesThinLun) {
  // LBPU, LBPWS, LBPWS10, LBPRZ(001b), provisioning type thin.
  const std::vector<uint8_t> d = {0x00, 0xb2, 0x00, 0x04, 0x00, 0xe4, 0x02, 0x00};
  absl::StatusOr<LogicalBlockProvisioning> p = DecodeLogicalBlockProvisioning(d);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->lbpu);
  EXPECT_TRUE(p->lbpws);
  EXPECT_TRUE(p->lbpws10);
  EXPECT_EQ(p->lbprz, 1);
  EXPECT_TRUE(p->reads_zeroes_after_unmap());
  EXPECT_FALSE(p->anc_sup);
  EXPECT_FALSE(p->dp);
  EXPECT_EQ(p->provisioning_type, static_cast<uint8_t>(ProvisioningType::kThin));
}

TEST(ProvisioningTest, IndividualBits) {
  std::vector<uint8_t> d = {0x00, 0xb2, 0x00, 0x04, 0x09, 0x43, 0x01, 0x00};
  absl::StatusOr<LogicalBlockProvisioning> p = DecodeLogicalBlockProvisioning(d);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->threshold_exponent, 9);
  EXPECT_FALSE(p->lbpu);
  EXPECT_TRUE(p->lbpws);
  EXPECT_FALSE(p->lbpws10);
  EXPECT_EQ(p->lbprz, 0);
  EXPECT_FALSE(p->reads_zeroes_after_unmap());
  EXPECT_TRUE(p->anc_sup);
  EXPECT_TRUE(p->dp);
  EXPECT_EQ(p->provisioning_type, static_cast<uint8_t>(ProvisioningType::kResource));
  d[5] = 0x08;  // LBPRZ 010b: provisioning pattern, not zeros
  EXPECT_FALSE(DecodeLogicalBlockProvisioning(d).value().reads_zeroes_after_unmap());
}

TEST(ProvisioningTest, RejectsShortAndHostile) {
  EXPECT_EQ(DecodeLogicalBlockProvisioning(std::vector<uint8_t>{0x00, 0xb2, 0x00, 0x02, 0, 0})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      DecodeLogicalBlockProvisioning(std::vector<uint8_t>{0x00, 0xb2, 0x00, 0x10, 0, 0x80, 0x02, 0})
          .status()
          .code(),
      absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace isergw::scsi
