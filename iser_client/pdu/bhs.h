// Basic Header Segment codec for every iSCSI PDU type (RFC 7143 section 11).
//
// Each PDU type has a plain struct with its fields in host byte order. Encode
// writes all 48 bytes (reserved bytes zero) with direct stores and never
// allocates: it runs once per I/O. DecodeX checks the opcode and what RFC 7143
// requires of the header on its own, and returns InvalidArgument naming the
// violated rule; fields the RFC marks reserved are ignored on receipt.
//
// Common conventions:
//  - `lun` holds the 8 LUN bytes read as one big-endian integer, so byte 8 of
//    the BHS is the most significant byte (SAM LUN 1 = 0x0001000000000000).
//  - `total_ahs_length` counts 4-byte words; `data_segment_length` is the
//    24-bit length without padding. Encode keeps only its low 24 bits.
//  - `immediate` exists only on initiator PDUs (target PDUs have no I bit).
#ifndef ISER_CLIENT_PDU_BHS_H_
#define ISER_CLIENT_PDU_BHS_H_

#include <array>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"
#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

using BhsBytes = std::span<uint8_t, kBhsSize>;
using ConstBhsBytes = std::span<const uint8_t, kBhsSize>;
using Isid = std::array<uint8_t, 6>;
using Cdb = std::array<uint8_t, 16>;

// ---- Initiator PDUs ----

struct NopOutHeader {  // 11.18
  bool immediate = false;
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = kReservedTag;
  uint32_t ttt = kReservedTag;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  bool operator==(const NopOutHeader&) const = default;
};

// SCSI task attribute (ATTR field of the SCSI Command).
enum class TaskAttr : uint8_t {
  kUntagged = 0,
  kSimple = 1,
  kOrdered = 2,
  kHeadOfQueue = 3,
  kAca = 4,
};

struct ScsiCommandHeader {  // 11.3
  bool immediate = false;
  bool final = true;                  // F
  bool read = false;                  // R
  bool write = false;                 // W
  TaskAttr attr = TaskAttr::kSimple;  // 3 bits; values 5..7 are reserved
  uint8_t total_ahs_length = 0;       // non-zero when an Extended CDB AHS follows
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t expected_data_transfer_length = 0;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  Cdb cdb = {};  // first 16 CDB bytes; longer CDBs continue in the AHS
  bool operator==(const ScsiCommandHeader&) const = default;
};

struct TaskMgmtRequestHeader {  // 11.5
  bool immediate = false;
  uint8_t function = 0;  // 7 bits: 1 ABORT TASK ... 8 TASK REASSIGN
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t referenced_task_tag = kReservedTag;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  uint32_t ref_cmd_sn = 0;
  uint32_t exp_data_sn = 0;
  // TotalAHSLength and DataSegmentLength are always 0 (checked on decode).
  bool operator==(const TaskMgmtRequestHeader&) const = default;
};

// Login stages for CSG/NSG (RFC 7143 11.12.3); 2 is reserved.
inline constexpr uint8_t kStageSecurityNegotiation = 0;
inline constexpr uint8_t kStageLoginOperationalNegotiation = 1;
inline constexpr uint8_t kStageFullFeaturePhase = 3;

struct LoginRequestHeader {  // 11.12; the I bit is always 1 on the wire
  bool transit = false;      // T
  bool cont = false;         // C
  uint8_t csg = 0;           // 2 bits
  uint8_t nsg = 0;           // 2 bits, meaningful only with T
  uint8_t version_max = 0;
  uint8_t version_min = 0;
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  Isid isid = {};
  uint16_t tsih = 0;
  uint32_t itt = 0;
  uint16_t cid = 0;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  bool operator==(const LoginRequestHeader&) const = default;
};

struct TextRequestHeader {  // 11.10
  bool immediate = false;
  bool final = true;  // F
  bool cont = false;  // C
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTag;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  bool operator==(const TextRequestHeader&) const = default;
};

struct DataOutHeader {  // 11.7
  bool final = false;   // F
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTag;
  uint32_t exp_stat_sn = 0;
  uint32_t data_sn = 0;
  uint32_t buffer_offset = 0;
  bool operator==(const DataOutHeader&) const = default;
};

struct LogoutRequestHeader {  // 11.14
  bool immediate = false;
  uint8_t reason = 0;  // 7 bits: 0 close session, 1 close connection, 2 recovery
  uint32_t itt = 0;
  uint16_t cid = 0;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  // TotalAHSLength and DataSegmentLength are always 0 (checked on decode).
  bool operator==(const LogoutRequestHeader&) const = default;
};

struct SnackHeader {  // 11.16
  uint8_t type = 0;   // 4 bits: 0 Data/R2T, 1 Status, 2 DataACK, 3 R-Data
  uint64_t lun = 0;
  uint32_t itt = kReservedTag;
  uint32_t ttt_or_snack_tag = kReservedTag;
  uint32_t exp_stat_sn = 0;
  uint32_t beg_run = 0;
  uint32_t run_length = 0;
  // TotalAHSLength and DataSegmentLength are always 0 (checked on decode).
  bool operator==(const SnackHeader&) const = default;
};

// ---- Target PDUs ----

struct NopInHeader {  // 11.19
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = kReservedTag;
  uint32_t ttt = kReservedTag;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  bool operator==(const NopInHeader&) const = default;
};

struct ScsiResponseHeader {          // 11.4
  bool bidi_read_overflow = false;   // o
  bool bidi_read_underflow = false;  // u
  bool overflow = false;             // O
  bool underflow = false;            // U
  uint8_t response = 0;              // 0 = Command Completed at Target
  uint8_t status = 0;                // SCSI status, valid when response == 0
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;  // sense / response data
  uint32_t itt = 0;
  uint32_t snack_tag = 0;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint32_t exp_data_sn = 0;
  uint32_t bidi_read_residual_count = 0;
  uint32_t residual_count = 0;
  bool operator==(const ScsiResponseHeader&) const = default;
};

struct TaskMgmtResponseHeader {  // 11.6
  uint8_t response = 0;
  uint32_t itt = 0;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  // TotalAHSLength and DataSegmentLength are always 0 (checked on decode).
  bool operator==(const TaskMgmtResponseHeader&) const = default;
};

struct LoginResponseHeader {  // 11.13
  bool transit = false;       // T
  bool cont = false;          // C
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t version_max = 0;
  uint8_t version_active = 0;
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  Isid isid = {};
  uint16_t tsih = 0;
  uint32_t itt = 0;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint8_t status_class = 0;
  uint8_t status_detail = 0;
  bool operator==(const LoginResponseHeader&) const = default;
};

struct TextResponseHeader {  // 11.11
  bool final = true;         // F
  bool cont = false;         // C
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTag;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  bool operator==(const TextResponseHeader&) const = default;
};

struct DataInHeader {           // 11.7
  bool final = false;           // F
  bool ack = false;             // A
  bool overflow = false;        // O, valid with S
  bool underflow = false;       // U, valid with S
  bool status_present = false;  // S
  uint8_t status = 0;           // SCSI status, valid with S
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = kReservedTag;
  uint32_t stat_sn = 0;  // valid with S
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint32_t data_sn = 0;
  uint32_t buffer_offset = 0;
  uint32_t residual_count = 0;  // valid with S
  bool operator==(const DataInHeader&) const = default;
};

struct LogoutResponseHeader {  // 11.15
  uint8_t response = 0;
  uint32_t itt = 0;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint16_t time2wait = 0;
  uint16_t time2retain = 0;
  // TotalAHSLength and DataSegmentLength are always 0 (checked on decode).
  bool operator==(const LogoutResponseHeader&) const = default;
};

struct R2tHeader {  // 11.8
  uint64_t lun = 0;
  uint32_t itt = 0;
  uint32_t ttt = 0;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint32_t r2t_sn = 0;
  uint32_t buffer_offset = 0;
  uint32_t desired_data_transfer_length = 0;
  // TotalAHSLength and DataSegmentLength are always 0 (checked on decode).
  bool operator==(const R2tHeader&) const = default;
};

struct AsyncMessageHeader {  // 11.9; the ITT is always 0xffffffff
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;  // sense data and iSCSI event data
  uint64_t lun = 0;
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint8_t async_event = 0;
  uint8_t async_vcode = 0;
  uint16_t parameter1 = 0;
  uint16_t parameter2 = 0;
  uint16_t parameter3 = 0;
  bool operator==(const AsyncMessageHeader&) const = default;
};

struct RejectHeader {  // 11.17; the ITT is always 0xffffffff
  uint8_t reason = 0;
  uint8_t total_ahs_length = 0;
  uint32_t data_segment_length = 0;  // carries the rejected PDU's header
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
  uint32_t data_sn_or_r2t_sn = 0;
  bool operator==(const RejectHeader&) const = default;
};

// ---- Encoding (writes all 48 bytes) ----

void Encode(const NopOutHeader& h, BhsBytes out);
void Encode(const ScsiCommandHeader& h, BhsBytes out);
void Encode(const TaskMgmtRequestHeader& h, BhsBytes out);
void Encode(const LoginRequestHeader& h, BhsBytes out);
void Encode(const TextRequestHeader& h, BhsBytes out);
void Encode(const DataOutHeader& h, BhsBytes out);
void Encode(const LogoutRequestHeader& h, BhsBytes out);
void Encode(const SnackHeader& h, BhsBytes out);
void Encode(const NopInHeader& h, BhsBytes out);
void Encode(const ScsiResponseHeader& h, BhsBytes out);
void Encode(const TaskMgmtResponseHeader& h, BhsBytes out);
void Encode(const LoginResponseHeader& h, BhsBytes out);
void Encode(const TextResponseHeader& h, BhsBytes out);
void Encode(const DataInHeader& h, BhsBytes out);
void Encode(const LogoutResponseHeader& h, BhsBytes out);
void Encode(const R2tHeader& h, BhsBytes out);
void Encode(const AsyncMessageHeader& h, BhsBytes out);
void Encode(const RejectHeader& h, BhsBytes out);

// ---- Decoding ----

absl::StatusOr<NopOutHeader> DecodeNopOut(ConstBhsBytes bhs);
absl::StatusOr<ScsiCommandHeader> DecodeScsiCommand(ConstBhsBytes bhs);
absl::StatusOr<TaskMgmtRequestHeader> DecodeTaskMgmtRequest(ConstBhsBytes bhs);
absl::StatusOr<LoginRequestHeader> DecodeLoginRequest(ConstBhsBytes bhs);
absl::StatusOr<TextRequestHeader> DecodeTextRequest(ConstBhsBytes bhs);
absl::StatusOr<DataOutHeader> DecodeDataOut(ConstBhsBytes bhs);
absl::StatusOr<LogoutRequestHeader> DecodeLogoutRequest(ConstBhsBytes bhs);
absl::StatusOr<SnackHeader> DecodeSnack(ConstBhsBytes bhs);
absl::StatusOr<NopInHeader> DecodeNopIn(ConstBhsBytes bhs);
absl::StatusOr<ScsiResponseHeader> DecodeScsiResponse(ConstBhsBytes bhs);
absl::StatusOr<TaskMgmtResponseHeader> DecodeTaskMgmtResponse(ConstBhsBytes bhs);
absl::StatusOr<LoginResponseHeader> DecodeLoginResponse(ConstBhsBytes bhs);
absl::StatusOr<TextResponseHeader> DecodeTextResponse(ConstBhsBytes bhs);
absl::StatusOr<DataInHeader> DecodeDataIn(ConstBhsBytes bhs);
absl::StatusOr<LogoutResponseHeader> DecodeLogoutResponse(ConstBhsBytes bhs);
absl::StatusOr<R2tHeader> DecodeR2t(ConstBhsBytes bhs);
absl::StatusOr<AsyncMessageHeader> DecodeAsyncMessage(ConstBhsBytes bhs);
absl::StatusOr<RejectHeader> DecodeReject(ConstBhsBytes bhs);

// ---- Peeking at common fields (no validation) ----

// Raw six opcode bits; may be a value that is not a listed Opcode.
inline Opcode PeekOpcode(ConstBhsBytes bhs) { return Opcode(bhs[0] & kOpcodeMask); }
inline bool PeekImmediate(ConstBhsBytes bhs) { return (bhs[0] & kImmediateBit) != 0; }
// AHS length in bytes (TotalAHSLength * 4).
inline uint32_t PeekTotalAhsLength(ConstBhsBytes bhs) { return uint32_t{bhs[4]} * 4; }
inline uint32_t PeekDataSegmentLength(ConstBhsBytes bhs) {
  return (uint32_t{bhs[5]} << 16) | (uint32_t{bhs[6]} << 8) | bhs[7];
}
inline uint32_t PeekItt(ConstBhsBytes bhs) {
  return (uint32_t{bhs[16]} << 24) | (uint32_t{bhs[17]} << 16) | (uint32_t{bhs[18]} << 8) | bhs[19];
}

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_PDU_BHS_H_
