// Sense data decoding (SPC-4 4.5): fixed (0x70/0x71) and descriptor
// (0x72/0x73) formats, plus the iSCSI framing of sense in the SCSI Response
// data segment (RFC 7143 11.4.7.2).
//
// SenseData is a small value type (no heap) so it can live in a per-task slot.
#ifndef ISERGW_ISER_CLIENT_SCSI_SENSE_H_
#define ISERGW_ISER_CLIENT_SCSI_SENSE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace isergw::scsi {

enum class SenseKey : uint8_t {
  kNoSense = 0x0,
  kRecoveredError = 0x1,
  kNotReady = 0x2,
  kMediumError = 0x3,
  kHardwareError = 0x4,
  kIllegalRequest = 0x5,
  kUnitAttention = 0x6,
  kDataProtect = 0x7,
  kBlankCheck = 0x8,
  kVendorSpecific = 0x9,
  kCopyAborted = 0xa,
  kAbortedCommand = 0xb,
  kReserved = 0xc,
  kVolumeOverflow = 0xd,
  kMiscompare = 0xe,
  kCompleted = 0xf,
};

struct SenseData {
  uint8_t response_code = 0;  // 0x70..0x73
  bool descriptor_format = false;
  bool deferred = false;  // the error belongs to an earlier command
  SenseKey key = SenseKey::kNoSense;
  uint8_t asc = 0;
  uint8_t ascq = 0;
  // INFORMATION field (fixed: bytes 3..6 when VALID; descriptor: the
  // Information descriptor, type 0x00, when its VALID bit is set). For
  // medium errors this is usually the first failing LBA.
  bool information_valid = false;
  uint64_t information = 0;
};

// Decodes sense bytes. The ADDITIONAL SENSE LENGTH may claim more than is
// present (sense is often truncated by the target's buffer); only present
// bytes are read, and fields beyond them stay zero. Needs the bytes that carry
// the sense key at least (3 for fixed, 2 for descriptor format). Unknown
// response codes give InvalidArgument.
absl::StatusOr<SenseData> DecodeSense(std::span<const uint8_t> sense);

// Decodes the data segment of an iSCSI SCSI Response PDU: a 2-byte big-endian
// SenseLength, then that many sense bytes (response data may follow and is
// ignored). An empty segment or SenseLength 0 means "no sense" (nullopt).
// A SenseLength larger than the segment gives InvalidArgument.
absl::StatusOr<std::optional<SenseData>> DecodeIscsiSenseSegment(
    std::span<const uint8_t> data_segment);

// "MEDIUM ERROR", "ILLEGAL REQUEST", ...
std::string_view SenseKeyName(SenseKey key);

// Text for an ASC/ASCQ pair, e.g. "LOGICAL BLOCK ADDRESS OUT OF RANGE".
// Empty for pairs not in the table.
std::string_view AscAscqText(uint8_t asc, uint8_t ascq);

// "MEDIUM ERROR: UNRECOVERED READ ERROR (sense 3/11/00)"; "deferred " is
// prefixed for deferred errors; unknown pairs print as "ASC 0x.. ASCQ 0x..".
std::string DescribeSense(const SenseData& sense);

}  // namespace isergw::scsi

#endif  // ISERGW_ISER_CLIENT_SCSI_SENSE_H_
