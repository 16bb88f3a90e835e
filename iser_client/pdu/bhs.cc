#include "iser_client/pdu/bhs.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/pdu/byte_order.h"

namespace isergw::iscsi {
namespace {

// Byte 1 flag bits (RFC 7143 numbers bits from the MSB: bit 0 = 0x80).
constexpr uint8_t kFinalBit = 0x80;  // F; also the fixed "1" of many PDUs
constexpr uint8_t kReadBit = 0x40;   // R (SCSI Command)
constexpr uint8_t kWriteBit = 0x20;  // W (SCSI Command)
constexpr uint8_t kAttrMask = 0x07;
constexpr uint8_t kContinueBit = 0x40;       // C (Text, Login)
constexpr uint8_t kTransitBit = 0x80;        // T (Login)
constexpr uint8_t kAckBit = 0x40;            // A (Data-In)
constexpr uint8_t kBidiOverflowBit = 0x10;   // o (SCSI Response)
constexpr uint8_t kBidiUnderflowBit = 0x08;  // u (SCSI Response)
constexpr uint8_t kOverflowBit = 0x04;       // O
constexpr uint8_t kUnderflowBit = 0x02;      // U
constexpr uint8_t kStatusBit = 0x01;         // S (Data-In)
constexpr uint8_t kReservedStage = 2;

// Zeroes the header and writes byte 0/1 and the two length fields.
inline uint8_t* Start(BhsBytes out, Opcode op, bool immediate, uint8_t flags,
                      uint8_t total_ahs_length, uint32_t data_segment_length) {
  uint8_t* p = out.data();
  std::memset(p, 0, kBhsSize);
  p[0] = static_cast<uint8_t>(op) | (immediate ? kImmediateBit : 0);
  p[1] = flags;
  p[4] = total_ahs_length;
  StoreBe24(p + 5, data_segment_length);
  return p;
}

inline uint8_t Flag(bool on, uint8_t bit) { return on ? bit : 0; }

absl::Status CheckOpcode(ConstBhsBytes bhs, Opcode want) {
  const uint8_t got = bhs[0] & kOpcodeMask;
  if (got != static_cast<uint8_t>(want)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "BHS opcode 0x%02x is not %s (0x%02x)", got, OpcodeName(want), static_cast<uint8_t>(want)));
  }
  return absl::OkStatus();
}

// For PDU types whose header is the whole PDU (RFC 7143 marks both lengths
// as 0 for them).
absl::Status CheckNoAhsNoData(ConstBhsBytes bhs, Opcode op) {
  if (bhs[4] != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has TotalAHSLength %d; it must be 0", OpcodeName(op), bhs[4]));
  }
  if (const uint32_t dsl = LoadBe24(bhs.data() + 5); dsl != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has DataSegmentLength %u; it must be 0", OpcodeName(op), dsl));
  }
  return absl::OkStatus();
}

absl::Status CheckLoginFlags(uint8_t flags, Opcode op) {
  const bool transit = flags & kTransitBit;
  const bool cont = flags & kContinueBit;
  const uint8_t csg = (flags >> 2) & 3;
  const uint8_t nsg = flags & 3;
  if (transit && cont) {
    return absl::InvalidArgumentError(absl::StrFormat("%s has both T and C set", OpcodeName(op)));
  }
  if (csg == kReservedStage) {
    return absl::InvalidArgumentError(absl::StrFormat("%s has reserved CSG 2", OpcodeName(op)));
  }
  if (transit && nsg == kReservedStage) {
    return absl::InvalidArgumentError(absl::StrFormat("%s has reserved NSG 2", OpcodeName(op)));
  }
  return absl::OkStatus();
}

absl::Status CheckReservedItt(ConstBhsBytes bhs, Opcode op) {
  if (const uint32_t itt = LoadBe32(bhs.data() + 16); itt != kReservedTag) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has ITT 0x%08x; it must be 0xffffffff", OpcodeName(op), itt));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- Initiator PDUs ----

void Encode(const NopOutHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kNopOut, h.immediate, kFinalBit, h.total_ahs_length,
                     h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 24, h.cmd_sn);
  StoreBe32(p + 28, h.exp_stat_sn);
}

absl::StatusOr<NopOutHeader> DecodeNopOut(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kNopOut); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  NopOutHeader h;
  h.immediate = p[0] & kImmediateBit;
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  h.cmd_sn = LoadBe32(p + 24);
  h.exp_stat_sn = LoadBe32(p + 28);
  return h;
}

void Encode(const ScsiCommandHeader& h, BhsBytes out) {
  const uint8_t flags = Flag(h.final, kFinalBit) | Flag(h.read, kReadBit) |
                        Flag(h.write, kWriteBit) | (static_cast<uint8_t>(h.attr) & kAttrMask);
  uint8_t* p = Start(out, Opcode::kScsiCommand, h.immediate, flags, h.total_ahs_length,
                     h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.expected_data_transfer_length);
  StoreBe32(p + 24, h.cmd_sn);
  StoreBe32(p + 28, h.exp_stat_sn);
  std::memcpy(p + 32, h.cdb.data(), h.cdb.size());
}

absl::StatusOr<ScsiCommandHeader> DecodeScsiCommand(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kScsiCommand); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  ScsiCommandHeader h;
  h.immediate = p[0] & kImmediateBit;
  h.final = p[1] & kFinalBit;
  h.read = p[1] & kReadBit;
  h.write = p[1] & kWriteBit;
  const uint8_t attr = p[1] & kAttrMask;
  if (attr > static_cast<uint8_t>(TaskAttr::kAca)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SCSI-Command has reserved task attribute %d", attr));
  }
  h.attr = static_cast<TaskAttr>(attr);
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.expected_data_transfer_length = LoadBe32(p + 20);
  h.cmd_sn = LoadBe32(p + 24);
  h.exp_stat_sn = LoadBe32(p + 28);
  std::memcpy(h.cdb.data(), p + 32, h.cdb.size());
  // RFC 7143 11.3.1: R and W MUST NOT both be 0 when data is expected.
  if (!h.read && !h.write && h.expected_data_transfer_length != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SCSI-Command expects %u data bytes but sets neither R nor W",
                        h.expected_data_transfer_length));
  }
  return h;
}

void Encode(const TaskMgmtRequestHeader& h, BhsBytes out) {
  uint8_t* p =
      Start(out, Opcode::kTaskMgmtRequest, h.immediate, kFinalBit | (h.function & 0x7f), 0, 0);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.referenced_task_tag);
  StoreBe32(p + 24, h.cmd_sn);
  StoreBe32(p + 28, h.exp_stat_sn);
  StoreBe32(p + 32, h.ref_cmd_sn);
  StoreBe32(p + 36, h.exp_data_sn);
}

absl::StatusOr<TaskMgmtRequestHeader> DecodeTaskMgmtRequest(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kTaskMgmtRequest); !s.ok()) return s;
  if (auto s = CheckNoAhsNoData(bhs, Opcode::kTaskMgmtRequest); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  TaskMgmtRequestHeader h;
  h.immediate = p[0] & kImmediateBit;
  h.function = p[1] & 0x7f;
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.referenced_task_tag = LoadBe32(p + 20);
  h.cmd_sn = LoadBe32(p + 24);
  h.exp_stat_sn = LoadBe32(p + 28);
  h.ref_cmd_sn = LoadBe32(p + 32);
  h.exp_data_sn = LoadBe32(p + 36);
  return h;
}

void Encode(const LoginRequestHeader& h, BhsBytes out) {
  const uint8_t flags = Flag(h.transit, kTransitBit) | Flag(h.cont, kContinueBit) |
                        static_cast<uint8_t>((h.csg & 3) << 2) | (h.nsg & 3);
  // RFC 7143 11.12: the I bit is always 1 on a Login Request.
  uint8_t* p = Start(out, Opcode::kLoginRequest, /*immediate=*/true, flags, h.total_ahs_length,
                     h.data_segment_length);
  p[2] = h.version_max;
  p[3] = h.version_min;
  std::memcpy(p + 8, h.isid.data(), h.isid.size());
  StoreBe16(p + 14, h.tsih);
  StoreBe32(p + 16, h.itt);
  StoreBe16(p + 20, h.cid);
  StoreBe32(p + 24, h.cmd_sn);
  StoreBe32(p + 28, h.exp_stat_sn);
}

absl::StatusOr<LoginRequestHeader> DecodeLoginRequest(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kLoginRequest); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  if (!(p[0] & kImmediateBit)) {
    return absl::InvalidArgumentError("Login-Request without the I bit");
  }
  if (auto s = CheckLoginFlags(p[1], Opcode::kLoginRequest); !s.ok()) return s;
  LoginRequestHeader h;
  h.transit = p[1] & kTransitBit;
  h.cont = p[1] & kContinueBit;
  h.csg = (p[1] >> 2) & 3;
  h.nsg = p[1] & 3;
  h.version_max = p[2];
  h.version_min = p[3];
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  std::memcpy(h.isid.data(), p + 8, h.isid.size());
  h.tsih = LoadBe16(p + 14);
  h.itt = LoadBe32(p + 16);
  h.cid = LoadBe16(p + 20);
  h.cmd_sn = LoadBe32(p + 24);
  h.exp_stat_sn = LoadBe32(p + 28);
  return h;
}

void Encode(const TextRequestHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kTextRequest, h.immediate,
                     Flag(h.final, kFinalBit) | Flag(h.cont, kContinueBit), h.total_ahs_length,
                     h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 24, h.cmd_sn);
  StoreBe32(p + 28, h.exp_stat_sn);
}

absl::StatusOr<TextRequestHeader> DecodeTextRequest(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kTextRequest); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  TextRequestHeader h;
  h.immediate = p[0] & kImmediateBit;
  h.final = p[1] & kFinalBit;
  h.cont = p[1] & kContinueBit;
  if (h.final && h.cont) return absl::InvalidArgumentError("Text-Request has both F and C set");
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  h.cmd_sn = LoadBe32(p + 24);
  h.exp_stat_sn = LoadBe32(p + 28);
  return h;
}

void Encode(const DataOutHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kDataOut, false, Flag(h.final, kFinalBit), h.total_ahs_length,
                     h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 28, h.exp_stat_sn);
  StoreBe32(p + 36, h.data_sn);
  StoreBe32(p + 40, h.buffer_offset);
}

absl::StatusOr<DataOutHeader> DecodeDataOut(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kDataOut); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  DataOutHeader h;
  h.final = p[1] & kFinalBit;
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  h.exp_stat_sn = LoadBe32(p + 28);
  h.data_sn = LoadBe32(p + 36);
  h.buffer_offset = LoadBe32(p + 40);
  return h;
}

void Encode(const LogoutRequestHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kLogoutRequest, h.immediate, kFinalBit | (h.reason & 0x7f), 0, 0);
  StoreBe32(p + 16, h.itt);
  StoreBe16(p + 20, h.cid);
  StoreBe32(p + 24, h.cmd_sn);
  StoreBe32(p + 28, h.exp_stat_sn);
}

absl::StatusOr<LogoutRequestHeader> DecodeLogoutRequest(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kLogoutRequest); !s.ok()) return s;
  if (auto s = CheckNoAhsNoData(bhs, Opcode::kLogoutRequest); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  LogoutRequestHeader h;
  h.immediate = p[0] & kImmediateBit;
  h.reason = p[1] & 0x7f;
  h.itt = LoadBe32(p + 16);
  h.cid = LoadBe16(p + 20);
  h.cmd_sn = LoadBe32(p + 24);
  h.exp_stat_sn = LoadBe32(p + 28);
  return h;
}

void Encode(const SnackHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kSnack, false, kFinalBit | (h.type & 0x0f), 0, 0);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt_or_snack_tag);
  StoreBe32(p + 28, h.exp_stat_sn);
  StoreBe32(p + 40, h.beg_run);
  StoreBe32(p + 44, h.run_length);
}

absl::StatusOr<SnackHeader> DecodeSnack(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kSnack); !s.ok()) return s;
  if (auto s = CheckNoAhsNoData(bhs, Opcode::kSnack); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  SnackHeader h;
  h.type = p[1] & 0x0f;
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt_or_snack_tag = LoadBe32(p + 20);
  h.exp_stat_sn = LoadBe32(p + 28);
  h.beg_run = LoadBe32(p + 40);
  h.run_length = LoadBe32(p + 44);
  return h;
}

// ---- Target PDUs ----

void Encode(const NopInHeader& h, BhsBytes out) {
  uint8_t* p =
      Start(out, Opcode::kNopIn, false, kFinalBit, h.total_ahs_length, h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
}

absl::StatusOr<NopInHeader> DecodeNopIn(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kNopIn); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  NopInHeader h;
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  return h;
}

void Encode(const ScsiResponseHeader& h, BhsBytes out) {
  const uint8_t flags = kFinalBit | Flag(h.bidi_read_overflow, kBidiOverflowBit) |
                        Flag(h.bidi_read_underflow, kBidiUnderflowBit) |
                        Flag(h.overflow, kOverflowBit) | Flag(h.underflow, kUnderflowBit);
  uint8_t* p =
      Start(out, Opcode::kScsiResponse, false, flags, h.total_ahs_length, h.data_segment_length);
  p[2] = h.response;
  p[3] = h.status;
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.snack_tag);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  StoreBe32(p + 36, h.exp_data_sn);
  StoreBe32(p + 40, h.bidi_read_residual_count);
  StoreBe32(p + 44, h.residual_count);
}

absl::StatusOr<ScsiResponseHeader> DecodeScsiResponse(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kScsiResponse); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  ScsiResponseHeader h;
  h.bidi_read_overflow = p[1] & kBidiOverflowBit;
  h.bidi_read_underflow = p[1] & kBidiUnderflowBit;
  h.overflow = p[1] & kOverflowBit;
  h.underflow = p[1] & kUnderflowBit;
  // RFC 7143 11.4.5: o/u and O/U are mutually exclusive.
  if (h.bidi_read_overflow && h.bidi_read_underflow) {
    return absl::InvalidArgumentError("SCSI-Response has both o and u set");
  }
  if (h.overflow && h.underflow) {
    return absl::InvalidArgumentError("SCSI-Response has both O and U set");
  }
  h.response = p[2];
  h.status = p[3];
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.itt = LoadBe32(p + 16);
  h.snack_tag = LoadBe32(p + 20);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.exp_data_sn = LoadBe32(p + 36);
  h.bidi_read_residual_count = LoadBe32(p + 40);
  h.residual_count = LoadBe32(p + 44);
  return h;
}

void Encode(const TaskMgmtResponseHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kTaskMgmtResponse, false, kFinalBit, 0, 0);
  p[2] = h.response;
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
}

absl::StatusOr<TaskMgmtResponseHeader> DecodeTaskMgmtResponse(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kTaskMgmtResponse); !s.ok()) return s;
  if (auto s = CheckNoAhsNoData(bhs, Opcode::kTaskMgmtResponse); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  TaskMgmtResponseHeader h;
  h.response = p[2];
  h.itt = LoadBe32(p + 16);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  return h;
}

void Encode(const LoginResponseHeader& h, BhsBytes out) {
  const uint8_t flags = Flag(h.transit, kTransitBit) | Flag(h.cont, kContinueBit) |
                        static_cast<uint8_t>((h.csg & 3) << 2) | (h.nsg & 3);
  uint8_t* p =
      Start(out, Opcode::kLoginResponse, false, flags, h.total_ahs_length, h.data_segment_length);
  p[2] = h.version_max;
  p[3] = h.version_active;
  std::memcpy(p + 8, h.isid.data(), h.isid.size());
  StoreBe16(p + 14, h.tsih);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  p[36] = h.status_class;
  p[37] = h.status_detail;
}

absl::StatusOr<LoginResponseHeader> DecodeLoginResponse(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kLoginResponse); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  if (auto s = CheckLoginFlags(p[1], Opcode::kLoginResponse); !s.ok()) return s;
  LoginResponseHeader h;
  h.transit = p[1] & kTransitBit;
  h.cont = p[1] & kContinueBit;
  h.csg = (p[1] >> 2) & 3;
  h.nsg = p[1] & 3;
  h.version_max = p[2];
  h.version_active = p[3];
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  std::memcpy(h.isid.data(), p + 8, h.isid.size());
  h.tsih = LoadBe16(p + 14);
  h.itt = LoadBe32(p + 16);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.status_class = p[36];
  h.status_detail = p[37];
  return h;
}

void Encode(const TextResponseHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kTextResponse, false,
                     Flag(h.final, kFinalBit) | Flag(h.cont, kContinueBit), h.total_ahs_length,
                     h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
}

absl::StatusOr<TextResponseHeader> DecodeTextResponse(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kTextResponse); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  TextResponseHeader h;
  h.final = p[1] & kFinalBit;
  h.cont = p[1] & kContinueBit;
  if (h.final && h.cont) return absl::InvalidArgumentError("Text-Response has both F and C set");
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  return h;
}

void Encode(const DataInHeader& h, BhsBytes out) {
  const uint8_t flags = Flag(h.final, kFinalBit) | Flag(h.ack, kAckBit) |
                        Flag(h.overflow, kOverflowBit) | Flag(h.underflow, kUnderflowBit) |
                        Flag(h.status_present, kStatusBit);
  uint8_t* p = Start(out, Opcode::kDataIn, false, flags, h.total_ahs_length, h.data_segment_length);
  p[3] = h.status;
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  StoreBe32(p + 36, h.data_sn);
  StoreBe32(p + 40, h.buffer_offset);
  StoreBe32(p + 44, h.residual_count);
}

absl::StatusOr<DataInHeader> DecodeDataIn(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kDataIn); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  DataInHeader h;
  h.final = p[1] & kFinalBit;
  h.ack = p[1] & kAckBit;
  h.overflow = p[1] & kOverflowBit;
  h.underflow = p[1] & kUnderflowBit;
  h.status_present = p[1] & kStatusBit;
  // RFC 7143 11.7.3/11.7.5: S implies F; O and U exclude each other.
  if (h.status_present && !h.final) {
    return absl::InvalidArgumentError("SCSI-Data-In has S set without F");
  }
  if (h.overflow && h.underflow) {
    return absl::InvalidArgumentError("SCSI-Data-In has both O and U set");
  }
  h.status = p[3];
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.data_sn = LoadBe32(p + 36);
  h.buffer_offset = LoadBe32(p + 40);
  h.residual_count = LoadBe32(p + 44);
  return h;
}

void Encode(const LogoutResponseHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kLogoutResponse, false, kFinalBit, 0, 0);
  p[2] = h.response;
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  StoreBe16(p + 40, h.time2wait);
  StoreBe16(p + 42, h.time2retain);
}

absl::StatusOr<LogoutResponseHeader> DecodeLogoutResponse(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kLogoutResponse); !s.ok()) return s;
  if (auto s = CheckNoAhsNoData(bhs, Opcode::kLogoutResponse); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  LogoutResponseHeader h;
  h.response = p[2];
  h.itt = LoadBe32(p + 16);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.time2wait = LoadBe16(p + 40);
  h.time2retain = LoadBe16(p + 42);
  return h;
}

void Encode(const R2tHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kR2t, false, kFinalBit, 0, 0);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, h.itt);
  StoreBe32(p + 20, h.ttt);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  StoreBe32(p + 36, h.r2t_sn);
  StoreBe32(p + 40, h.buffer_offset);
  StoreBe32(p + 44, h.desired_data_transfer_length);
}

absl::StatusOr<R2tHeader> DecodeR2t(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kR2t); !s.ok()) return s;
  if (auto s = CheckNoAhsNoData(bhs, Opcode::kR2t); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  R2tHeader h;
  h.lun = LoadBe64(p + 8);
  h.itt = LoadBe32(p + 16);
  h.ttt = LoadBe32(p + 20);
  if (h.ttt == kReservedTag) {
    return absl::InvalidArgumentError("R2T carries the reserved Target Transfer Tag 0xffffffff");
  }
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.r2t_sn = LoadBe32(p + 36);
  h.buffer_offset = LoadBe32(p + 40);
  h.desired_data_transfer_length = LoadBe32(p + 44);
  // RFC 7143 11.8.5: the desired length MUST NOT be 0.
  if (h.desired_data_transfer_length == 0) {
    return absl::InvalidArgumentError("R2T has Desired Data Transfer Length 0");
  }
  return h;
}

void Encode(const AsyncMessageHeader& h, BhsBytes out) {
  uint8_t* p = Start(out, Opcode::kAsyncMessage, false, kFinalBit, h.total_ahs_length,
                     h.data_segment_length);
  StoreBe64(p + 8, h.lun);
  StoreBe32(p + 16, kReservedTag);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  p[36] = h.async_event;
  p[37] = h.async_vcode;
  StoreBe16(p + 38, h.parameter1);
  StoreBe16(p + 40, h.parameter2);
  StoreBe16(p + 42, h.parameter3);
}

absl::StatusOr<AsyncMessageHeader> DecodeAsyncMessage(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kAsyncMessage); !s.ok()) return s;
  if (auto s = CheckReservedItt(bhs, Opcode::kAsyncMessage); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  AsyncMessageHeader h;
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.lun = LoadBe64(p + 8);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.async_event = p[36];
  h.async_vcode = p[37];
  h.parameter1 = LoadBe16(p + 38);
  h.parameter2 = LoadBe16(p + 40);
  h.parameter3 = LoadBe16(p + 42);
  return h;
}

void Encode(const RejectHeader& h, BhsBytes out) {
  uint8_t* p =
      Start(out, Opcode::kReject, false, kFinalBit, h.total_ahs_length, h.data_segment_length);
  p[2] = h.reason;
  StoreBe32(p + 16, kReservedTag);
  StoreBe32(p + 24, h.stat_sn);
  StoreBe32(p + 28, h.exp_cmd_sn);
  StoreBe32(p + 32, h.max_cmd_sn);
  StoreBe32(p + 36, h.data_sn_or_r2t_sn);
}

absl::StatusOr<RejectHeader> DecodeReject(ConstBhsBytes bhs) {
  if (auto s = CheckOpcode(bhs, Opcode::kReject); !s.ok()) return s;
  if (auto s = CheckReservedItt(bhs, Opcode::kReject); !s.ok()) return s;
  const uint8_t* p = bhs.data();
  RejectHeader h;
  h.reason = p[2];
  h.total_ahs_length = p[4];
  h.data_segment_length = LoadBe24(p + 5);
  h.stat_sn = LoadBe32(p + 24);
  h.exp_cmd_sn = LoadBe32(p + 28);
  h.max_cmd_sn = LoadBe32(p + 32);
  h.data_sn_or_r2t_sn = LoadBe32(p + 36);
  return h;
}

}  // namespace isergw::iscsi
