// The operational parameters a login negotiated (RFC 7143 section 13, RFC 7145 section 6).
#ifndef ISER_CLIENT_LOGIN_SESSION_PARAMS_H_
#define ISER_CLIENT_LOGIN_SESSION_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>

namespace isergw::iscsi {

enum class SessionType : uint8_t { kNormal, kDiscovery };

enum class Digest : uint8_t { kNone, kCrc32c };

absl::string_view DigestName(Digest d);  // "None" / "CRC32C"

// Every field starts at its RFC default; the negotiator overwrites what the
// login settled. Lengths are bytes, times are seconds.
struct SessionParams {
  Digest header_digest = Digest::kNone;
  Digest data_digest = Digest::kNone;
  // What we declared: the largest data segment we accept per PDU.
  uint32_t max_recv_data_segment_length = 8192;
  // What the target declared: the largest data segment we may send per PDU.
  uint32_t target_max_recv_data_segment_length = 8192;
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  bool immediate_data = true;
  bool initial_r2t = true;
  uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
  uint32_t error_recovery_level = 0;
  uint32_t max_connections = 1;

  // iSER (RFC 7145). With rdma_extensions the two *RecvDataSegmentLength keys
  // replace MaxRecvDataSegmentLength.
  bool rdma_extensions = false;
  uint32_t initiator_recv_data_segment_length = 8192;  // ours: what we receive
  uint32_t target_recv_data_segment_length = 8192;     // target's: what we may send
  // Declared by the target: how many unexpected PDUs we may have outstanding
  // towards it; 0 means no limit.
  uint32_t max_outstanding_unexpected_pdus = 0;

  // Declared by the target when it sent them.
  std::optional<uint16_t> target_portal_group_tag;
  std::optional<std::string> target_alias;

  // The largest data segment we may put in one PDU towards the target.
  uint32_t MaxSendDataSegmentLength() const {
    return rdma_extensions ? target_recv_data_segment_length : target_max_recv_data_segment_length;
  }
  // The largest data segment the target may send us in one PDU.
  uint32_t MaxRecvDataSegmentLength() const {
    return rdma_extensions ? initiator_recv_data_segment_length : max_recv_data_segment_length;
  }
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_SESSION_PARAMS_H_
