#ifndef ISER_CLIENT_TRANSPORT_ISER_SLOTS_H_
#define ISER_CLIENT_TRANSPORT_ISER_SLOTS_H_

#include <cstddef>
#include <cstdint>

#include "iser_client/pdu/opcodes.h"
#include "iser_client/transport/iser_header.h"

namespace isergw::iscsi {

// The fixed buffer slots of one iSER connection, all in one registered area:
// send slots first, then receive slots. Every slot holds an iSER header, a
// BHS with the largest AHS and a data segment of `data_bytes`; larger
// outgoing data (a write's immediate data) goes as a second SGE pointing
// into the command's own registered buffer, never copied.
struct SlotLayout {
  // Commands one connection carries at once; the session's window is smaller.
  static constexpr uint32_t kMaxCommands = 256;
  // Receives for every command's response plus unsolicited PDUs (NOP-In,
  // Async Message, Reject), as the kernel initiator posts.
  static constexpr uint32_t kExtraRecvs = 16;
  // Sends beyond one per command: NOP-Out, task management, logout.
  static constexpr uint32_t kExtraSends = 32;
  // The largest data segment received in a Send (InitiatorRecvDataSegmentLength
  // we declare) and copied into a send slot.
  static constexpr uint32_t kDataBytes = 8192;

  uint32_t send_slots = kMaxCommands + kExtraSends;
  uint32_t recv_slots = kMaxCommands + kExtraRecvs;
  uint32_t slot_bytes = SlotBytes(kDataBytes);

  // Slots whose data segment holds `data_bytes` (the declared
  // InitiatorRecvDataSegmentLength), at most kDataBytes.
  static SlotLayout ForDataBytes(uint32_t data_bytes) {
    SlotLayout layout;
    layout.slot_bytes = SlotBytes(data_bytes < kDataBytes ? data_bytes : kDataBytes);
    return layout;
  }
  // The largest data segment a slot holds.
  uint32_t data_capacity() const {
    return slot_bytes - static_cast<uint32_t>(kIserHeaderSize + kBhsSize + kMaxAhsBytes);
  }

  static constexpr uint32_t SlotBytes(uint32_t data_bytes) {
    uint32_t raw = static_cast<uint32_t>(kIserHeaderSize + kBhsSize + kMaxAhsBytes) + data_bytes;
    return (raw + 63) & ~uint32_t{63};  // cache-line aligned slots
  }
  size_t total_bytes() const { return size_t{send_slots + recv_slots} * slot_bytes; }
  size_t send_offset(uint32_t i) const { return size_t{i} * slot_bytes; }
  size_t recv_offset(uint32_t i) const { return size_t{send_slots + i} * slot_bytes; }
  // The most PDU bytes (after the iSER header) a receive slot holds.
  uint32_t recv_pdu_capacity() const { return slot_bytes - static_cast<uint32_t>(kIserHeaderSize); }
};

// wr_id of a work request: the kind in the top bits, the slot index below,
// so a completion finds its slot without a lookup.
// kBind and kInvalidate: strict mode's memory window work requests (the slot
// is the window index).
enum class WorkKind : uint8_t { kSend = 1, kRecv = 2, kBind = 3, kInvalidate = 4 };
inline uint64_t MakeWrId(WorkKind kind, uint32_t slot) {
  return (uint64_t{static_cast<uint8_t>(kind)} << 32) | slot;
}
inline WorkKind WrIdKind(uint64_t wr_id) { return static_cast<WorkKind>(wr_id >> 32); }
inline uint32_t WrIdSlot(uint64_t wr_id) { return static_cast<uint32_t>(wr_id); }

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_ISER_SLOTS_H_
