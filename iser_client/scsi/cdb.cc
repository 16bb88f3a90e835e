#include "iser_client/scsi/cdb.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/scsi/byte_order.h"

namespace isergw::scsi {
namespace {

using internal::LoadBe64;
using internal::StoreBe16;
using internal::StoreBe32;
using internal::StoreBe64;

// Byte 1 of READ/WRITE(10/16) and the SBC bit positions we use.
constexpr uint8_t kFuaBit = 0x08;
constexpr uint8_t kWriteSameUnmapBit = 0x08;
constexpr uint8_t kWriteSameAnchorBit = 0x10;
constexpr uint8_t kWriteSameNdobBit = 0x01;
constexpr uint8_t kEvpdBit = 0x01;
constexpr uint8_t kUnmapAnchorBit = 0x01;

Cdb Start(uint8_t op, uint8_t length) {
  Cdb cdb;
  cdb.bytes[0] = op;
  cdb.length = length;
  return cdb;
}

Cdb Rw10(uint8_t op, uint32_t lba, uint16_t blocks, bool fua) {
  Cdb cdb = Start(op, 10);
  if (fua) {
    cdb.bytes[1] |= kFuaBit;
  }
  StoreBe32(&cdb.bytes[2], lba);
  StoreBe16(&cdb.bytes[7], blocks);
  return cdb;
}

Cdb Rw16(uint8_t op, uint64_t lba, uint32_t blocks, bool fua) {
  Cdb cdb = Start(op, 16);
  if (fua) {
    cdb.bytes[1] |= kFuaBit;
  }
  StoreBe64(&cdb.bytes[2], lba);
  StoreBe32(&cdb.bytes[10], blocks);
  return cdb;
}

}  // namespace

Cdb MakeTestUnitReady() { return Start(opcode::kTestUnitReady, 6); }

Cdb MakeInquiry(uint16_t allocation_length) {
  Cdb cdb = Start(opcode::kInquiry, 6);
  StoreBe16(&cdb.bytes[3], allocation_length);
  return cdb;
}

Cdb MakeInquiryVpd(uint8_t page_code, uint16_t allocation_length) {
  Cdb cdb = Start(opcode::kInquiry, 6);
  cdb.bytes[1] = kEvpdBit;
  cdb.bytes[2] = page_code;
  StoreBe16(&cdb.bytes[3], allocation_length);
  return cdb;
}

Cdb MakeReadCapacity10() { return Start(opcode::kReadCapacity10, 10); }

Cdb MakeReadCapacity16(uint32_t allocation_length) {
  Cdb cdb = Start(opcode::kServiceActionIn16, 16);
  cdb.bytes[1] = kServiceActionReadCapacity16;
  StoreBe32(&cdb.bytes[10], allocation_length);
  return cdb;
}

Cdb MakeRead10(uint32_t lba, uint16_t blocks, bool fua) {
  return Rw10(opcode::kRead10, lba, blocks, fua);
}
Cdb MakeRead16(uint64_t lba, uint32_t blocks, bool fua) {
  return Rw16(opcode::kRead16, lba, blocks, fua);
}
Cdb MakeWrite10(uint32_t lba, uint16_t blocks, bool fua) {
  return Rw10(opcode::kWrite10, lba, blocks, fua);
}
Cdb MakeWrite16(uint64_t lba, uint32_t blocks, bool fua) {
  return Rw16(opcode::kWrite16, lba, blocks, fua);
}

bool FitsTenByteCdb(uint64_t lba, uint32_t blocks) {
  return blocks <= 0xffff && lba + blocks <= (uint64_t{1} << 32) && lba <= 0xffffffff;
}

Cdb MakeRead(uint64_t lba, uint32_t blocks, bool fua) {
  if (FitsTenByteCdb(lba, blocks)) {
    return MakeRead10(static_cast<uint32_t>(lba), static_cast<uint16_t>(blocks), fua);
  }
  return MakeRead16(lba, blocks, fua);
}

Cdb MakeWrite(uint64_t lba, uint32_t blocks, bool fua) {
  if (FitsTenByteCdb(lba, blocks)) {
    return MakeWrite10(static_cast<uint32_t>(lba), static_cast<uint16_t>(blocks), fua);
  }
  return MakeWrite16(lba, blocks, fua);
}

Cdb MakeSynchronizeCache10(uint32_t lba, uint16_t blocks) {
  Cdb cdb = Start(opcode::kSynchronizeCache10, 10);
  StoreBe32(&cdb.bytes[2], lba);
  StoreBe16(&cdb.bytes[7], blocks);
  return cdb;
}

Cdb MakeSynchronizeCache16(uint64_t lba, uint32_t blocks) {
  Cdb cdb = Start(opcode::kSynchronizeCache16, 16);
  StoreBe64(&cdb.bytes[2], lba);
  StoreBe32(&cdb.bytes[10], blocks);
  return cdb;
}

Cdb MakeSynchronizeCache(uint64_t lba, uint32_t blocks) {
  if (FitsTenByteCdb(lba, blocks)) {
    return MakeSynchronizeCache10(static_cast<uint32_t>(lba), static_cast<uint16_t>(blocks));
  }
  return MakeSynchronizeCache16(lba, blocks);
}

Cdb MakeUnmap(uint16_t parameter_list_length, bool anchor) {
  Cdb cdb = Start(opcode::kUnmap, 10);
  if (anchor) {
    cdb.bytes[1] = kUnmapAnchorBit;
  }
  StoreBe16(&cdb.bytes[7], parameter_list_length);
  return cdb;
}

absl::StatusOr<size_t> BuildUnmapParameterList(std::span<const UnmapRange> ranges,
                                               std::span<uint8_t> out) {
  if (ranges.empty()) {
    return absl::InvalidArgumentError("UNMAP needs at least one range");
  }
  if (ranges.size() > kMaxUnmapDescriptors) {
    return absl::InvalidArgumentError(
        absl::StrFormat("UNMAP with %d ranges exceeds the %d descriptors a parameter list can hold",
                        ranges.size(), kMaxUnmapDescriptors));
  }
  const size_t total = UnmapParameterListLength(ranges.size());
  if (out.size() < total) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("UNMAP parameter list needs %d bytes, buffer has %d", total, out.size()));
  }
  uint8_t* p = out.data();
  StoreBe16(p, static_cast<uint16_t>(total - 2));
  StoreBe16(p + 2, static_cast<uint16_t>(total - kUnmapHeaderLength));
  StoreBe32(p + 4, 0);
  p += kUnmapHeaderLength;
  for (const UnmapRange& range : ranges) {
    StoreBe64(p, range.lba);
    StoreBe32(p + 8, range.blocks);
    StoreBe32(p + 12, 0);
    p += kUnmapDescriptorLength;
  }
  return total;
}

Cdb MakeWriteSame16(uint64_t lba, uint32_t blocks, WriteSameFlags flags) {
  Cdb cdb = Start(opcode::kWriteSame16, 16);
  if (flags.unmap) {
    cdb.bytes[1] |= kWriteSameUnmapBit;
  }
  if (flags.anchor) {
    cdb.bytes[1] |= kWriteSameAnchorBit;
  }
  if (flags.ndob) {
    cdb.bytes[1] |= kWriteSameNdobBit;
  }
  StoreBe64(&cdb.bytes[2], lba);
  StoreBe32(&cdb.bytes[10], blocks);
  return cdb;
}

Cdb MakeReportLuns(uint32_t allocation_length) {
  Cdb cdb = Start(opcode::kReportLuns, 12);
  StoreBe32(&cdb.bytes[6], allocation_length);
  return cdb;
}

Cdb MakeModeSense10(uint8_t page, uint16_t allocation_length) {
  Cdb cdb = Start(opcode::kModeSense10, 10);
  cdb.bytes[1] = 0x08;         // DBD
  cdb.bytes[2] = page & 0x3f;  // PC 0: current values
  StoreBe16(&cdb.bytes[7], allocation_length);
  return cdb;
}

uint64_t EncodeLun(uint32_t lun) {
  uint8_t field[8] = {};
  if (lun < 256) {
    field[1] = static_cast<uint8_t>(lun);
  } else if (lun <= kMaxFlatLun) {
    field[0] = static_cast<uint8_t>(0x40 | (lun >> 8));
    field[1] = static_cast<uint8_t>(lun);
  } else if (lun <= kMaxEncodableLun) {
    field[0] = 0xd2;
    field[1] = static_cast<uint8_t>(lun >> 16);
    field[2] = static_cast<uint8_t>(lun >> 8);
    field[3] = static_cast<uint8_t>(lun);
  } else {
    return kUnencodableLun;
  }
  return LoadBe64(field);
}

absl::StatusOr<uint32_t> DecodeLun(uint64_t lun_field) {
  uint8_t b[8];
  StoreBe64(b, lun_field);
  auto zero_from = [&b](int first) {
    for (int i = first; i < 8; ++i) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  };
  const uint8_t method = b[0] >> 6;
  if (method == 0 && (b[0] & 0x3f) == 0 && zero_from(2)) {
    return b[1];
  }
  if (method == 1 && zero_from(2)) {
    return ((b[0] & 0x3fu) << 8) | b[1];
  }
  if (b[0] == 0xd2 && zero_from(4)) {
    return (uint32_t{b[1]} << 16) | (b[2] << 8) | b[3];
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("unsupported LUN addressing %016x (only single level peripheral, flat and "
                      "extended flat are supported)",
                      lun_field));
}

}  // namespace isergw::scsi
