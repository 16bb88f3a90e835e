#ifndef ISER_CLIENT_TRANSPORT_ISER_HEADER_H_
#define ISER_CLIENT_TRANSPORT_ISER_HEADER_H_

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace isergw::iscsi {

// The iSER header (RFC 7145 section 9.2, Linux's struct iser_ctrl) that
// precedes every iSCSI PDU carried in an RDMA Send, and the RDMA CM private
// data (Linux's struct iser_cm_hdr) an initiator connects with.

inline constexpr size_t kIserHeaderSize = 28;
inline constexpr size_t kIserCmPrivateDataSize = 4;

// High nibble of the flags byte: the message type.
inline constexpr uint8_t kIserTypeMask = 0xf0;
inline constexpr uint8_t kIserTypeControl = 0x10;  // an iSCSI control-type PDU
inline constexpr uint8_t kIserTypeHello = 0x20;
inline constexpr uint8_t kIserTypeHelloReply = 0x30;
// Low nibble for control-type PDUs: which advertised buffers are valid.
inline constexpr uint8_t kIserWriteValid = 0x08;  // write STag/VA: target RDMA-Reads from it
inline constexpr uint8_t kIserReadValid = 0x04;   // read STag/VA: target RDMA-Writes into it

// CM private data flags: set for what the initiator does NOT support.
inline constexpr uint8_t kIserCmZeroBasedVaNotSupported = 0x80;
inline constexpr uint8_t kIserCmSendWithInvalidateNotSupported = 0x40;

struct IserHeader {
  uint8_t flags = kIserTypeControl;
  uint32_t write_stag = 0;
  uint64_t write_va = 0;
  uint32_t read_stag = 0;
  uint64_t read_va = 0;

  bool write_valid() const { return (flags & kIserWriteValid) != 0; }
  bool read_valid() const { return (flags & kIserReadValid) != 0; }
};

// Writes `header` big endian into `out`, reserved bytes zero.
void EncodeIserHeader(const IserHeader& header, std::span<uint8_t, kIserHeaderSize> out);

// Reads the header at the front of `message`. Fails (DataLoss) on a message
// shorter than the header or a type other than an iSCSI control PDU (the
// only type Linux targets send after connect; Hello is not used by them).
absl::StatusOr<IserHeader> DecodeIserHeader(std::span<const uint8_t> message);

// The private data of rdma_connect(): flags byte, three reserved bytes. We
// send real virtual addresses (not zero-based) and never use remote
// invalidation, so both "not supported" bits are set.
void EncodeIserCmPrivateData(uint8_t flags, std::span<uint8_t, kIserCmPrivateDataSize> out);

// Where a command's data sits for the target: a write's remaining data
// starts after what went as immediate data in the Send itself.
inline uint64_t IserWriteVa(const uint8_t* base, uint32_t immediate) {
  return reinterpret_cast<uint64_t>(base) + immediate;
}

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_ISER_HEADER_H_
