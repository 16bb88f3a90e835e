#include "iser_client/scsi/capacity.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/scsi/byte_order.h"

namespace isergw::scsi {

using internal::LoadBe16;
using internal::LoadBe32;
using internal::LoadBe64;

uint64_t Capacity::bytes() const {
  if (block_size != 0 && block_count > std::numeric_limits<uint64_t>::max() / block_size) {
    return std::numeric_limits<uint64_t>::max();
  }
  return block_count * block_size;
}

absl::StatusOr<Capacity> DecodeReadCapacity10(std::span<const uint8_t> data) {
  if (data.size() < kReadCapacity10Length) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "READ CAPACITY(10) data is %d bytes, needs %d", data.size(), kReadCapacity10Length));
  }
  Capacity out;
  const uint32_t last_lba = LoadBe32(&data[0]);
  out.block_size = LoadBe32(&data[4]);
  if (out.block_size == 0) {
    return absl::InvalidArgumentError("READ CAPACITY(10) reports a logical block length of 0");
  }
  out.block_count = uint64_t{last_lba} + 1;
  out.needs_read_capacity16 = last_lba == 0xffffffff;
  return out;
}

absl::StatusOr<Capacity> DecodeReadCapacity16(std::span<const uint8_t> data) {
  if (data.size() < kReadCapacity16MinLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "READ CAPACITY(16) data is %d bytes, needs %d", data.size(), kReadCapacity16MinLength));
  }
  Capacity out;
  const uint64_t last_lba = LoadBe64(&data[0]);
  if (last_lba == std::numeric_limits<uint64_t>::max()) {
    return absl::InvalidArgumentError("READ CAPACITY(16) reports last LBA 2^64-1");
  }
  out.block_count = last_lba + 1;
  out.block_size = LoadBe32(&data[8]);
  if (out.block_size == 0) {
    return absl::InvalidArgumentError("READ CAPACITY(16) reports a logical block length of 0");
  }
  out.prot_en = (data[12] & 0x01) != 0;
  out.p_type = (data[12] >> 1) & 0x07;
  out.physical_block_exponent = data[13] & 0x0f;
  out.lbpme = (data[14] & 0x80) != 0;
  out.lbprz = (data[14] & 0x40) != 0;
  out.lowest_aligned_lba = LoadBe16(&data[14]) & 0x3fff;
  return out;
}

}  // namespace isergw::scsi
