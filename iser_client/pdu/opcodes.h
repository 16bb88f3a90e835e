// iSCSI opcodes and header constants (RFC 7143 section 11.1.1).
#ifndef ISER_CLIENT_PDU_OPCODES_H_
#define ISER_CLIENT_PDU_OPCODES_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace isergw::iscsi {

// Size of the Basic Header Segment that starts every PDU.
// The IANA-registered iSCSI port (RFC 7143 section 13.1).
inline constexpr uint16_t kDefaultIscsiPort = 3260;

inline constexpr size_t kBhsSize = 48;
// Size of a CRC32C header or data digest.
inline constexpr size_t kDigestSize = 4;
// "No tag": ITT of unsolicited target PDUs, TTT when no transfer tag applies.
inline constexpr uint32_t kReservedTag = 0xffffffff;
// TotalAHSLength is one byte counting 4-byte words.
inline constexpr size_t kMaxAhsBytes = 255 * 4;
// DataSegmentLength is a 24-bit field.
inline constexpr uint32_t kMaxDataSegmentLength = 0xffffff;

// The six opcode bits of BHS byte 0. Values not listed are reserved or
// vendor specific; an Opcode may still hold such a raw value after PeekOpcode.
enum class Opcode : uint8_t {
  // Initiator opcodes.
  kNopOut = 0x00,
  kScsiCommand = 0x01,
  kTaskMgmtRequest = 0x02,
  kLoginRequest = 0x03,
  kTextRequest = 0x04,
  kDataOut = 0x05,
  kLogoutRequest = 0x06,
  kSnack = 0x10,
  // Target opcodes.
  kNopIn = 0x20,
  kScsiResponse = 0x21,
  kTaskMgmtResponse = 0x22,
  kLoginResponse = 0x23,
  kTextResponse = 0x24,
  kDataIn = 0x25,
  kLogoutResponse = 0x26,
  kR2t = 0x31,
  kAsyncMessage = 0x32,
  kReject = 0x3f,
};

// Mask of the opcode bits and the Immediate bit in BHS byte 0.
inline constexpr uint8_t kOpcodeMask = 0x3f;
inline constexpr uint8_t kImmediateBit = 0x40;

// True for the opcodes an initiator sends (listed above, not vendor specific).
constexpr bool IsInitiatorOpcode(uint8_t raw) {
  switch (raw) {
    case 0x00:
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x10:
      return true;
    default:
      return false;
  }
}

// True for the opcodes a target sends (listed above, not vendor specific).
constexpr bool IsTargetOpcode(uint8_t raw) {
  switch (raw) {
    case 0x20:
    case 0x21:
    case 0x22:
    case 0x23:
    case 0x24:
    case 0x25:
    case 0x26:
    case 0x31:
    case 0x32:
    case 0x3f:
      return true;
    default:
      return false;
  }
}

// Short stable name for logs, e.g. "SCSI-Command"; "Unknown" for other values.
std::string_view OpcodeName(Opcode opcode);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_PDU_OPCODES_H_
