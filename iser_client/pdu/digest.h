// CRC32C header and data digests (RFC 7143 section 13.1, examples in
// RFC 3720 appendix B.4), computed with ISA-L.
//
// On the wire the 4 digest bytes are the CRC value in little-endian order:
// the RFC example "32 bytes of zeroes" prints CRC bytes aa 36 91 8a for the
// value 0x8a9136aa. Use StoreDigest/LoadDigest rather than the BHS helpers.
#ifndef ISER_CLIENT_PDU_DIGEST_H_
#define ISER_CLIENT_PDU_DIGEST_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

// Incremental CRC32C for data spread over several buffers (iovecs, pad).
// Usage: Crc32cBuilder c; c.Update(a); c.Update(b); c.UpdatePadding(n); c.Finish().
class Crc32cBuilder {
 public:
  Crc32cBuilder& Update(std::span<const uint8_t> bytes);
  // Feeds `count` zero bytes (0..3 for iSCSI padding; any count works).
  Crc32cBuilder& UpdateZeros(size_t count);
  // Final CRC value; the builder stays usable and unchanged.
  uint32_t Finish() const { return ~state_; }

 private:
  uint32_t state_ = 0xffffffff;  // register preset to all ones
};

// CRC32C of one buffer.
uint32_t Crc32c(std::span<const uint8_t> bytes);

// Data digest over a data segment plus its zero padding to 4 bytes.
uint32_t DataDigest(std::span<const uint8_t> data);

// Writes / reads the 4-byte on-wire digest.
inline void StoreDigest(uint32_t crc, std::span<uint8_t, kDigestSize> out) {
  out[0] = static_cast<uint8_t>(crc);
  out[1] = static_cast<uint8_t>(crc >> 8);
  out[2] = static_cast<uint8_t>(crc >> 16);
  out[3] = static_cast<uint8_t>(crc >> 24);
}
inline uint32_t LoadDigest(std::span<const uint8_t, kDigestSize> in) {
  return uint32_t{in[0]} | (uint32_t{in[1]} << 8) | (uint32_t{in[2]} << 16) |
         (uint32_t{in[3]} << 24);
}

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_PDU_DIGEST_H_
