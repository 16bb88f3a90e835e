// Cuts whole iSCSI PDUs out of a TCP byte stream (receive side) and computes
// where the pieces of a PDU go (send side).
//
// Wire layout of a PDU (RFC 7143 section 11.1):
//   BHS (48) | AHS (TotalAHSLength*4) | header digest (4, optional) |
//   data (DataSegmentLength) | pad to 4 | data digest (4, optional, only
//   when DataSegmentLength > 0)
#ifndef ISER_CLIENT_PDU_PDU_FRAMER_H_
#define ISER_CLIENT_PDU_PDU_FRAMER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

// Which side sent the bytes being framed: an initiator frames PDUs from a
// target; the fake target in tests frames PDUs from an initiator.
enum class PduSender : uint8_t { kTarget, kInitiator };

struct FramingLimits {
  bool header_digest = false;
  bool data_digest = false;
  // Our MaxRecvDataSegmentLength (8192 until negotiated otherwise).
  uint32_t max_recv_data_segment_length = 8192;
  PduSender sender = PduSender::kTarget;
};

// One framed PDU; the spans point into the caller's buffer.
struct PduView {
  std::span<const uint8_t, kBhsSize> bhs;
  std::span<const uint8_t> ahs;   // TotalAHSLength*4 bytes, possibly empty
  std::span<const uint8_t> data;  // DataSegmentLength bytes, without padding
  size_t wire_length = 0;         // bytes to consume from the stream, digests included
};

// Where each piece of a PDU sits on the wire. Offsets are from the start of
// the BHS. Built by ComputePduLayout for both sending and receiving.
struct PduHeaderLayout {
  size_t ahs_length = 0;  // bytes
  bool has_header_digest = false;
  size_t header_digest_offset = 0;  // valid when has_header_digest
  size_t data_offset = 0;
  size_t data_length = 0;         // DataSegmentLength
  size_t pad_length = 0;          // 0..3 zero bytes after the data
  bool has_data_digest = false;   // digest enabled and data_length > 0
  size_t data_digest_offset = 0;  // valid when has_data_digest
  size_t wire_length = 0;         // whole PDU
};

// `ahs_length` is in bytes (a multiple of 4 on the wire).
constexpr PduHeaderLayout ComputePduLayout(size_t ahs_length, size_t data_length,
                                           bool header_digest, bool data_digest) {
  PduHeaderLayout l;
  l.ahs_length = ahs_length;
  size_t off = kBhsSize + ahs_length;
  l.has_header_digest = header_digest;
  if (header_digest) {
    l.header_digest_offset = off;
    off += kDigestSize;
  }
  l.data_offset = off;
  l.data_length = data_length;
  l.pad_length = (4 - (data_length & 3)) & 3;
  off += data_length + l.pad_length;
  l.has_data_digest = data_digest && data_length > 0;
  if (l.has_data_digest) {
    l.data_digest_offset = off;
    off += kDigestSize;
  }
  l.wire_length = off;
  return l;
}

// Tries to frame the PDU at the start of `buffered`.
//  - nullopt: more bytes are needed. If `bytes_needed` is given it is set to
//    the total number of buffered bytes required to make progress: kBhsSize
//    until the BHS is in, then the whole PDU's wire length (already checked
//    against the limits, so it is safe to size a read with it).
//  - PduView: a complete, validated PDU; consume view.wire_length bytes.
//  - error (the caller drops the connection):
//      DataLoss         header or data digest mismatch,
//      InvalidArgument  opcode not sent by `limits.sender` (reserved, vendor
//                       specific or wrong direction), DataSegmentLength over
//                       the limit, malformed AHS chain.
// Never reads past `buffered`.
absl::StatusOr<std::optional<PduView>> TryFrame(std::span<const uint8_t> buffered,
                                                const FramingLimits& limits,
                                                size_t* bytes_needed = nullptr);

// Checks that `ahs` (TotalAHSLength*4 bytes) is a chain of whole AHSs:
// each is AHSLength (2 bytes, big-endian), AHSType (1 byte) and AHSLength
// bytes of content, padded to 4 bytes.
absl::Status ValidateAhsChain(std::span<const uint8_t> ahs);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_PDU_PDU_FRAMER_H_
