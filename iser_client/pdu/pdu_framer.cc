#include "iser_client/pdu/pdu_framer.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/pdu/bhs.h"
#include "iser_client/pdu/byte_order.h"
#include "iser_client/pdu/digest.h"
#include "iser_client/pdu/padding.h"

namespace isergw::iscsi {

absl::Status ValidateAhsChain(std::span<const uint8_t> ahs) {
  size_t off = 0;
  while (off < ahs.size()) {
    // Each AHS starts on a 4-byte boundary, so 3 header bytes always fit when
    // the total is a multiple of 4; check anyway for arbitrary callers.
    if (ahs.size() - off < 3) {
      return absl::InvalidArgumentError(
          absl::StrFormat("AHS at offset %u is truncated (%u bytes left)", off, ahs.size() - off));
    }
    const size_t content = LoadBe16(ahs.data() + off);
    const size_t whole = PaddedLength(3 + content);
    if (whole > ahs.size() - off) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "AHS at offset %u of type %d claims %u bytes; only %u remain of TotalAHSLength", off,
          ahs[off + 2], content, ahs.size() - off - 3));
    }
    off += whole;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<PduView>> TryFrame(std::span<const uint8_t> buffered,
                                                const FramingLimits& limits, size_t* bytes_needed) {
  if (buffered.size() < kBhsSize) {
    if (bytes_needed != nullptr) *bytes_needed = kBhsSize;
    return std::nullopt;
  }
  const ConstBhsBytes bhs = buffered.first<kBhsSize>();
  // TotalAHSLength is one byte, so the AHS is at most 255*4 bytes by
  // construction; the data length is bounded by the limit below.
  const size_t ahs_length = PeekTotalAhsLength(bhs);
  const uint32_t data_length = PeekDataSegmentLength(bhs);
  const PduHeaderLayout layout =
      ComputePduLayout(ahs_length, data_length, limits.header_digest, limits.data_digest);

  // A header digest, when the header segment is already here, is checked
  // before trusting any other header field: a corrupt BHS then reports as
  // the digest error it is.
  if (layout.has_header_digest && buffered.size() >= layout.data_offset) {
    const uint32_t expected = Crc32c(buffered.first(layout.header_digest_offset));
    const uint32_t received =
        LoadDigest(buffered.subspan(layout.header_digest_offset).first<kDigestSize>());
    if (expected != received) {
      return absl::DataLossError(absl::StrFormat(
          "header digest mismatch: received 0x%08x, computed 0x%08x", received, expected));
    }
  }

  const uint8_t raw_opcode = bhs[0] & kOpcodeMask;
  const bool from_target = limits.sender == PduSender::kTarget;
  if (from_target ? !IsTargetOpcode(raw_opcode) : !IsInitiatorOpcode(raw_opcode)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("opcode 0x%02x (%s) is not a PDU an %s sends", raw_opcode,
                        IsInitiatorOpcode(raw_opcode) || IsTargetOpcode(raw_opcode)
                            ? OpcodeName(static_cast<Opcode>(raw_opcode))
                            : "reserved or vendor specific",
                        from_target ? "iSCSI target" : "iSCSI initiator"));
  }
  if (data_length > limits.max_recv_data_segment_length) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s DataSegmentLength %u exceeds MaxRecvDataSegmentLength %u",
                        OpcodeName(static_cast<Opcode>(raw_opcode)), data_length,
                        limits.max_recv_data_segment_length));
  }

  if (buffered.size() < layout.wire_length) {
    if (bytes_needed != nullptr) *bytes_needed = layout.wire_length;
    return std::nullopt;
  }

  const std::span<const uint8_t> ahs = buffered.subspan(kBhsSize, ahs_length);
  if (auto status = ValidateAhsChain(ahs); !status.ok()) return status;

  const std::span<const uint8_t> data = buffered.subspan(layout.data_offset, data_length);
  if (layout.has_data_digest) {
    const uint32_t expected =
        Crc32c(buffered.subspan(layout.data_offset, data_length + layout.pad_length));
    const uint32_t received =
        LoadDigest(buffered.subspan(layout.data_digest_offset).first<kDigestSize>());
    if (expected != received) {
      return absl::DataLossError(
          absl::StrFormat("%s data digest mismatch: received 0x%08x, computed 0x%08x",
                          OpcodeName(static_cast<Opcode>(raw_opcode)), received, expected));
    }
  }

  if (bytes_needed != nullptr) *bytes_needed = layout.wire_length;
  return PduView{.bhs = bhs, .ahs = ahs, .data = data, .wire_length = layout.wire_length};
}

}  // namespace isergw::iscsi
