// READ CAPACITY(10) and READ CAPACITY(16) parameter data (SBC-3 5.15, 5.16).
//
// Discovery rule: send READ CAPACITY(10) first; if it reports a last LBA of
// 0xffffffff the medium is too large for it (or the device wants us to look
// at the 16-byte answer) and READ CAPACITY(16) must be used instead.
// NeedsReadCapacity16() encodes that rule.
#ifndef ISERGW_ISER_CLIENT_SCSI_CAPACITY_H_
#define ISERGW_ISER_CLIENT_SCSI_CAPACITY_H_

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace isergw::scsi {

inline constexpr size_t kReadCapacity10Length = 8;
// READ CAPACITY(16) returns 32 bytes, but bytes 16..31 are reserved, so an
// answer truncated to 16 bytes carries everything we decode.
inline constexpr size_t kReadCapacity16MinLength = 16;

struct Capacity {
  uint64_t block_count = 0;  // RETURNED LOGICAL BLOCK ADDRESS + 1
  uint32_t block_size = 0;   // logical block length in bytes
  // The fields below come from READ CAPACITY(16) only (zero for (10)).
  uint8_t physical_block_exponent = 0;  // 2^n logical blocks per physical block
  uint16_t lowest_aligned_lba = 0;
  bool lbpme = false;  // logical block provisioning (thin) enabled: UNMAP may work
  bool lbprz = false;  // unmapped blocks read as zeros
  bool prot_en = false;
  uint8_t p_type = 0;
  // Set by DecodeReadCapacity10 when the last LBA is 0xffffffff; block_count
  // is then only a lower bound.
  bool needs_read_capacity16 = false;

  uint64_t physical_block_size() const { return uint64_t{block_size} << physical_block_exponent; }
  // Capacity in bytes; saturates at UINT64_MAX rather than wrapping.
  uint64_t bytes() const;
};

// Needs exactly the 8 bytes (more are ignored). A block length of 0 gives
// InvalidArgument.
absl::StatusOr<Capacity> DecodeReadCapacity10(std::span<const uint8_t> data);

// Needs at least kReadCapacity16MinLength bytes. A block length of 0, a last
// LBA of 2^64-1 (count would overflow) or a physical block exponent over 15
// give InvalidArgument.
absl::StatusOr<Capacity> DecodeReadCapacity16(std::span<const uint8_t> data);

inline bool NeedsReadCapacity16(const Capacity& rc10) { return rc10.needs_read_capacity16; }

}  // namespace isergw::scsi

#endif  // ISERGW_ISER_CLIENT_SCSI_CAPACITY_H_
