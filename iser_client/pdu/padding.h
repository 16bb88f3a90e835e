// iSCSI pads data segments and AHSs to a multiple of 4 bytes (RFC 7143
// section 11.1); the pad bytes are zero and covered by the data digest.
#ifndef ISER_CLIENT_PDU_PADDING_H_
#define ISER_CLIENT_PDU_PADDING_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace isergw::iscsi {

// Number of zero bytes that follow `length` bytes to reach a 4-byte boundary.
constexpr size_t PadLength(size_t length) { return (4 - (length & 3)) & 3; }

// `length` rounded up to a multiple of 4.
constexpr size_t PaddedLength(size_t length) { return length + PadLength(length); }

// Source for pad bytes on the send side (at most 3 are ever needed).
inline constexpr std::array<uint8_t, 4> kZeroPad = {0, 0, 0, 0};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_PDU_PADDING_H_
