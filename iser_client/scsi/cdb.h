// Command descriptor block builders (SBC-3 / SPC-4 layouts).
//
// Builders fill a fixed 16-byte Cdb by value: no allocation, safe on the data
// path. Unused trailing bytes are zero; `length` is the CDB length that goes
// into the iSCSI SCSI Command PDU.
#ifndef ISERGW_ISER_CLIENT_SCSI_CDB_H_
#define ISERGW_ISER_CLIENT_SCSI_CDB_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace isergw::scsi {

inline constexpr size_t kMaxCdbLength = 16;

struct Cdb {
  uint8_t bytes[kMaxCdbLength] = {};
  uint8_t length = 0;

  std::span<const uint8_t> view() const { return {bytes, length}; }
  uint8_t opcode() const { return bytes[0]; }
};

namespace opcode {
inline constexpr uint8_t kTestUnitReady = 0x00;
inline constexpr uint8_t kInquiry = 0x12;
inline constexpr uint8_t kReadCapacity10 = 0x25;
inline constexpr uint8_t kRead10 = 0x28;
inline constexpr uint8_t kWrite10 = 0x2a;
inline constexpr uint8_t kSynchronizeCache10 = 0x35;
inline constexpr uint8_t kUnmap = 0x42;
inline constexpr uint8_t kModeSense10 = 0x5a;
inline constexpr uint8_t kRead16 = 0x88;
inline constexpr uint8_t kWrite16 = 0x8a;
inline constexpr uint8_t kSynchronizeCache16 = 0x91;
inline constexpr uint8_t kWriteSame16 = 0x93;
inline constexpr uint8_t kServiceActionIn16 = 0x9e;
inline constexpr uint8_t kReportLuns = 0xa0;
}  // namespace opcode

// SERVICE ACTION IN(16) service action for READ CAPACITY(16).
inline constexpr uint8_t kServiceActionReadCapacity16 = 0x10;

// VPD page codes this layer decodes.
namespace vpd {
inline constexpr uint8_t kSupportedPages = 0x00;
inline constexpr uint8_t kUnitSerialNumber = 0x80;
inline constexpr uint8_t kDeviceIdentification = 0x83;
inline constexpr uint8_t kBlockLimits = 0xb0;
inline constexpr uint8_t kLogicalBlockProvisioning = 0xb2;
}  // namespace vpd

// Allocation lengths that fit the answers we decode (READ CAPACITY(16) data is
// 32 bytes, standard INQUIRY is at least 36; 255 covers common VPD pages).
inline constexpr uint16_t kStandardInquiryAllocation = 96;
inline constexpr uint16_t kVpdAllocation = 255;
inline constexpr uint32_t kReadCapacity16Allocation = 32;

Cdb MakeTestUnitReady();

// INQUIRY(6). Standard data (EVPD=0) or one VPD page (EVPD=1).
Cdb MakeInquiry(uint16_t allocation_length = kStandardInquiryAllocation);
Cdb MakeInquiryVpd(uint8_t page_code, uint16_t allocation_length = kVpdAllocation);

Cdb MakeReadCapacity10();
Cdb MakeReadCapacity16(uint32_t allocation_length = kReadCapacity16Allocation);

// READ/WRITE with explicit CDB size. A transfer length of 0 means "no data"
// for both sizes (it is not 65536 for the 10-byte form).
Cdb MakeRead10(uint32_t lba, uint16_t blocks, bool fua);
Cdb MakeRead16(uint64_t lba, uint32_t blocks, bool fua);
Cdb MakeWrite10(uint32_t lba, uint16_t blocks, bool fua);
Cdb MakeWrite16(uint64_t lba, uint32_t blocks, bool fua);

// True when READ(10)/WRITE(10) can address [lba, lba + blocks): the whole range
// must lie below 2^32 and the count must fit 16 bits (same rule as Linux sd).
bool FitsTenByteCdb(uint64_t lba, uint32_t blocks);

// Pick the 10-byte form when it fits, otherwise the 16-byte form.
Cdb MakeRead(uint64_t lba, uint32_t blocks, bool fua);
Cdb MakeWrite(uint64_t lba, uint32_t blocks, bool fua);

// SYNCHRONIZE CACHE. lba=0, blocks=0 means "the whole medium". IMMED is never
// set: the initiator wants completion to mean the data is durable.
Cdb MakeSynchronizeCache10(uint32_t lba = 0, uint16_t blocks = 0);
Cdb MakeSynchronizeCache16(uint64_t lba = 0, uint32_t blocks = 0);
Cdb MakeSynchronizeCache(uint64_t lba = 0, uint32_t blocks = 0);

// UNMAP CDB; the parameter list goes in the Data-Out buffer (see below).
Cdb MakeUnmap(uint16_t parameter_list_length, bool anchor = false);

struct UnmapRange {
  uint64_t lba = 0;
  uint32_t blocks = 0;
};

inline constexpr size_t kUnmapHeaderLength = 8;
inline constexpr size_t kUnmapDescriptorLength = 16;
// UNMAP DATA LENGTH is 16 bits and counts everything after its own 2 bytes.
inline constexpr size_t kMaxUnmapDescriptors = (0xffff - 6) / kUnmapDescriptorLength;

constexpr size_t UnmapParameterListLength(size_t descriptors) {
  return kUnmapHeaderLength + descriptors * kUnmapDescriptorLength;
}

// Writes the UNMAP parameter list (header + one block descriptor per range)
// into `out` and returns the number of bytes written. Fails with
// InvalidArgument for no ranges or too many, ResourceExhausted when `out` is
// too small. Nothing is written on failure.
absl::StatusOr<size_t> BuildUnmapParameterList(std::span<const UnmapRange> ranges,
                                               std::span<uint8_t> out);

struct WriteSameFlags {
  bool unmap = false;   // deallocate the blocks if the device can (thin provisioning)
  bool anchor = false;  // anchor instead of deallocate (needs ANC_SUP)
  bool ndob = false;    // no Data-Out buffer: the pattern is zeros (SBC-3r35+)
};

// WRITE SAME(16). Unless ndob is set the Data-Out buffer carries one block.
Cdb MakeWriteSame16(uint64_t lba, uint32_t blocks, WriteSameFlags flags = {});

// REPORT LUNS, SELECT REPORT 0 (all logical units). SPC requires an
// allocation length of at least 16.
Cdb MakeReportLuns(uint32_t allocation_length = 4096);

// MODE SENSE(10) of the current values of `page` (subpage 0), without block
// descriptors (DBD).
Cdb MakeModeSense10(uint8_t page, uint16_t allocation_length = 255);

// The 8-byte iSCSI LUN field, as the big-endian value of its 8 bytes
// (store it with a 64-bit big-endian write). SAM single level addressing:
//   lun < 256        peripheral device addressing: 00 LL 00 00 00 00 00 00
//   lun < 16384      flat space addressing:        40|hi LL 00 ...
//   lun < 2^24       extended flat space:          D2 LL LL LL 00 ...
// Larger numbers cannot be encoded; EncodeLun returns kUnencodableLun.
inline constexpr uint32_t kMaxFlatLun = 16383;
inline constexpr uint32_t kMaxEncodableLun = 0xffffff;
inline constexpr uint64_t kUnencodableLun = ~uint64_t{0};
uint64_t EncodeLun(uint32_t lun);

// Inverse of EncodeLun for the single level forms above (a target may use
// any of them). Multi-level LUNs, well-known LUNs and other address methods
// give InvalidArgument.
absl::StatusOr<uint32_t> DecodeLun(uint64_t lun_field);

}  // namespace isergw::scsi

#endif  // ISERGW_ISER_CLIENT_SCSI_CDB_H_
