// Big-endian field access for SCSI structures. Every SCSI multi-byte field is
// big-endian; these helpers keep the decoders free of shift arithmetic.
// Callers check bounds first: these functions do not.
#ifndef ISERGW_ISER_CLIENT_SCSI_BYTE_ORDER_H_
#define ISERGW_ISER_CLIENT_SCSI_BYTE_ORDER_H_

#include <cstddef>
#include <cstdint>

namespace isergw::scsi::internal {

inline uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>((uint16_t{p[0]} << 8) | p[1]);
}
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline uint64_t LoadBe64(const uint8_t* p) {
  return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4);
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  }
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  }
}

}  // namespace isergw::scsi::internal

#endif  // ISERGW_ISER_CLIENT_SCSI_BYTE_ORDER_H_
