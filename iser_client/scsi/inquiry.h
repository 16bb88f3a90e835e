// INQUIRY decoders (SPC-4 6.6, 7.8): standard data and the VPD pages a block
// initiator needs. Discovery-time code: results may allocate.
//
// VPD pages: the 4-byte header carries PAGE LENGTH; a page claiming more than
// the buffer holds gives DataLoss (reissue INQUIRY with VpdRequiredLength()
// bytes). Fixed-layout pages (0xB0, 0xB2) accept a shorter PAGE LENGTH where
// SBC says trailing fields are optional; those fields read as 0, meaning
// "not reported".
#ifndef ISERGW_ISER_CLIENT_SCSI_INQUIRY_H_
#define ISERGW_ISER_CLIENT_SCSI_INQUIRY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace isergw::scsi {

inline constexpr uint8_t kDeviceTypeDisk = 0x00;  // direct access block device
inline constexpr uint8_t kQualifierConnected = 0;
inline constexpr uint8_t kQualifierNotConnected = 1;
inline constexpr uint8_t kQualifierNotSupported = 3;

struct StandardInquiry {
  uint8_t peripheral_qualifier = 0;
  uint8_t device_type = 0;
  bool removable = false;
  uint8_t version = 0;  // 0x05 SPC-3, 0x06 SPC-4
  uint8_t response_data_format = 0;
  bool hisup = false;
  uint8_t tpgs = 0;  // ALUA support
  bool protect = false;
  bool cmdque = false;
  std::string vendor;    // trimmed of padding
  std::string product;   // trimmed
  std::string revision;  // trimmed

  // A logical unit exists and is usable through this LUN.
  bool present() const { return peripheral_qualifier == kQualifierConnected; }
};

// Needs 36 bytes (SPC: standard data is at least 36 bytes). ADDITIONAL LENGTH
// larger than the buffer is normal (allocation length) and is not an error.
absl::StatusOr<StandardInquiry> DecodeStandardInquiry(std::span<const uint8_t> data);

// 4 + PAGE LENGTH: how many bytes the whole VPD page has. Needs 4 bytes.
absl::StatusOr<size_t> VpdRequiredLength(std::span<const uint8_t> data);

// VPD 0x00.
absl::StatusOr<std::vector<uint8_t>> DecodeSupportedVpdPages(std::span<const uint8_t> data);

// VPD 0x80, trimmed of padding.
absl::StatusOr<std::string> DecodeUnitSerialNumber(std::span<const uint8_t> data);

// VPD 0x83.
enum class CodeSet : uint8_t { kBinary = 1, kAscii = 2, kUtf8 = 3 };
enum class Association : uint8_t { kLogicalUnit = 0, kTargetPort = 1, kTargetDevice = 2 };
enum class DesignatorType : uint8_t {
  kVendorSpecific = 0,
  kT10VendorId = 1,
  kEui64 = 2,
  kNaa = 3,
  kRelativeTargetPort = 4,
  kTargetPortGroup = 5,
  kLogicalUnitGroup = 6,
  kMd5LogicalUnit = 7,
  kScsiNameString = 8,
  kProtocolSpecificPort = 9,
  kUuid = 0xa,
};

struct Designator {
  uint8_t protocol_identifier = 0;
  uint8_t code_set = 0;  // CodeSet value (raw: targets send others)
  bool piv = false;
  uint8_t association = 0;      // Association value
  uint8_t designator_type = 0;  // DesignatorType value
  std::vector<uint8_t> value;
};

struct DeviceIdentification {
  std::vector<Designator> designators;

  // World wide name of the logical unit, formatted like Linux's
  // /dev/disk/by-id/wwn-* and sysfs wwid: "naa.<lowercase hex>",
  // "eui.<lowercase hex>", "t10.<ascii>" (trailing padding trimmed). Looks
  // at logical unit designators only, preferring NAA registered extended
  // (6), then NAA registered (5), then other NAA, then EUI-64, then T10
  // vendor ID. nullopt when the page has none of them.
  std::optional<std::string> Wwn() const;
};

// Every designator is decoded; one whose length runs past PAGE LENGTH gives
// InvalidArgument.
absl::StatusOr<DeviceIdentification> DecodeDeviceIdentification(std::span<const uint8_t> data);

// VPD 0xB0 (SBC-3 6.5.3). Counts are in logical blocks; 0 = not reported /
// no limit.
struct BlockLimits {
  bool wsnz = false;  // WRITE SAME with 0 blocks is rejected
  uint8_t max_compare_and_write_length = 0;
  uint16_t optimal_transfer_length_granularity = 0;
  uint32_t max_transfer_length = 0;
  uint32_t optimal_transfer_length = 0;
  uint32_t max_prefetch_length = 0;
  uint32_t max_unmap_lba_count = 0;
  uint32_t max_unmap_block_descriptor_count = 0;
  uint32_t optimal_unmap_granularity = 0;
  bool unmap_granularity_alignment_valid = false;
  uint32_t unmap_granularity_alignment = 0;
  uint64_t max_write_same_length = 0;
};

// Needs the header and PAGE LENGTH >= 12 (the SBC-2 page: up to OPTIMAL
// TRANSFER LENGTH); later fields are read only if PAGE LENGTH covers them.
absl::StatusOr<BlockLimits> DecodeBlockLimits(std::span<const uint8_t> data);

// VPD 0xB2 (SBC-3 6.5.4).
enum class ProvisioningType : uint8_t { kFull = 0, kResource = 1, kThin = 2 };

struct LogicalBlockProvisioning {
  uint8_t threshold_exponent = 0;
  bool lbpu = false;     // UNMAP supported
  bool lbpws = false;    // WRITE SAME(16) with UNMAP supported
  bool lbpws10 = false;  // WRITE SAME(10) with UNMAP supported
  uint8_t lbprz = 0;     // 3-bit SBC-4 field; bit 0 set: unmapped blocks read zeros
  bool anc_sup = false;
  bool dp = false;                // provisioning group descriptor present
  uint8_t provisioning_type = 0;  // ProvisioningType value (raw)

  bool reads_zeroes_after_unmap() const { return (lbprz & 1) != 0; }
};

// Needs the header and PAGE LENGTH >= 4.
absl::StatusOr<LogicalBlockProvisioning> DecodeLogicalBlockProvisioning(
    std::span<const uint8_t> data);

}  // namespace isergw::scsi

#endif  // ISERGW_ISER_CLIENT_SCSI_INQUIRY_H_
