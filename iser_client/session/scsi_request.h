#ifndef ISER_CLIENT_SESSION_SCSI_REQUEST_H_
#define ISER_CLIENT_SESSION_SCSI_REQUEST_H_

#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace isergw::iscsi {

enum class DataDirection : uint8_t { kNone, kRead, kWrite };

// How a SCSI command ended. `status` is not OK when the command did not run
// to completion at the target (connection lost, aborted, rejected); otherwise
// `scsi_status` and `sense` are the target's answer.
struct ScsiResult {
  absl::Status status;
  uint8_t scsi_status = 0;
  std::span<const uint8_t> sense;  // valid only during the callback
  uint32_t residual = 0;
  bool underflow = false;
  bool overflow = false;
};

// One SCSI command, owned by the caller (a ublk tag slot, a bench slot) and
// handed to Session::Submit(); the session keeps only a pointer, so issuing a
// command allocates nothing. The buffer must stay valid until `done` runs.
struct ScsiRequest {
  uint8_t cdb[16] = {};
  uint8_t cdb_length = 0;
  uint64_t lun = 0;  // the 8-byte LUN field, as scsi::EncodeLun builds it
  DataDirection direction = DataDirection::kNone;
  uint8_t* buffer = nullptr;
  uint32_t length = 0;
  void (*done)(ScsiRequest* request, const ScsiResult& result) = nullptr;
  void* context = nullptr;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_SESSION_SCSI_REQUEST_H_
