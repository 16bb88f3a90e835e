// SCSI status codes (SAM-5) and what the initiator does with a completion:
// succeed, retry, or fail with an absl::Status / errno.
//
// Retry policy (Classify):
//   kSuccess  GOOD, CONDITION MET; CHECK CONDITION with RECOVERED ERROR or
//             COMPLETED (the command did complete).
//   kRetry    BUSY, TASK SET FULL, ACA ACTIVE, TASK ABORTED;
//             CHECK CONDITION with UNIT ATTENTION, NO SENSE, deferred sense
//             (it reports an earlier command's failure, as Linux treats it),
//             ABORTED COMMAND (except ASC 0x10 protection information errors),
//             NOT READY with ASC 0x04 and an ASCQ saying the unit is becoming
//             ready / busy with an operation / in ALUA transition.
//   kFail     everything else, including CHECK CONDITION without sense data.
//
// RetryBudget: a command is retried at most kMaxRetriesPerCommand (5) times,
// whatever the reason (UNIT ATTENTIONs count too, so a target that keeps
// raising them cannot stall a command forever). After that the last outcome
// is reported with ToStatus/ToErrno. Retries are re-sends of the same CDB;
// waiting between them (for BUSY/NOT READY) is the session layer's choice.
#ifndef ISERGW_ISER_CLIENT_SCSI_STATUS_H_
#define ISERGW_ISER_CLIENT_SCSI_STATUS_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "iser_client/scsi/sense.h"

namespace isergw::scsi {

namespace status {
inline constexpr uint8_t kGood = 0x00;
inline constexpr uint8_t kCheckCondition = 0x02;
inline constexpr uint8_t kConditionMet = 0x04;
inline constexpr uint8_t kBusy = 0x08;
inline constexpr uint8_t kReservationConflict = 0x18;
inline constexpr uint8_t kTaskSetFull = 0x28;
inline constexpr uint8_t kAcaActive = 0x30;
inline constexpr uint8_t kTaskAborted = 0x40;
}  // namespace status

// "GOOD", "CHECK CONDITION", ...; "UNKNOWN STATUS" otherwise.
std::string_view StatusName(uint8_t scsi_status);

enum class CommandOutcome { kSuccess, kRetry, kFail };

// `sense` may be null (no sense data received).
CommandOutcome Classify(uint8_t scsi_status, const SenseData* sense);

// OkStatus for kSuccess outcomes; otherwise a status whose message names the
// SCSI status and the sense, e.g.
//   "MEDIUM ERROR: UNRECOVERED READ ERROR (sense 3/11/00)".
// Codes: ILLEGAL REQUEST -> InvalidArgument (LBA OUT OF RANGE -> OutOfRange,
// LOGICAL UNIT NOT SUPPORTED -> NotFound); DATA PROTECT -> PermissionDenied
// (space allocation failed -> ResourceExhausted); NOT READY, UNIT ATTENTION,
// BUSY, TASK SET FULL, ACA ACTIVE -> Unavailable; MEDIUM ERROR -> DataLoss;
// HARDWARE ERROR -> Internal; ABORTED COMMAND, MISCOMPARE, TASK ABORTED ->
// Aborted; RESERVATION CONFLICT -> FailedPrecondition; anything else ->
// Internal (Unknown for unknown status bytes).
absl::Status ToStatus(uint8_t scsi_status, const SenseData* sense);

// Positive errno for the block frontends (ublk/NBD negate it as needed),
// 0 for kSuccess outcomes. Follows Linux's SCSI midlayer + blk_status
// (scsi_check_sense / scsi_result_to_blk_status / blk_errors), so that a
// filesystem on our device sees what it would see on a native SCSI disk:
//   DATA PROTECT 27/07 (thin pool full)        ENOSPC     (BLK_STS_NOSPC)
//   MEDIUM ERROR ASC 11/13/14                  ENODATA    (BLK_STS_MEDIUM)
//   HARDWARE ERROR; other DATA PROTECT; COPY ABORTED, VOLUME OVERFLOW,
//   MISCOMPARE, BLANK CHECK; ILLEGAL REQUEST ASC 20/21/22/24/26/27
//                                              EREMOTEIO  (BLK_STS_TARGET)
//   ILLEGAL REQUEST / ABORTED COMMAND ASC 10   EILSEQ     (BLK_STS_PROTECTION)
//   RESERVATION CONFLICT                       EBADE      (BLK_STS_RESV_CONFLICT)
//   anything else (incl. exhausted retries)    EIO        (BLK_STS_IOERR)
int ToErrno(uint8_t scsi_status, const SenseData* sense);

// Failures below SCSI (no status at all), for the same frontends.
enum class TransportFailure {
  kConnectionLost,  // ENOLINK   (BLK_STS_TRANSPORT: another path may work)
  kTimedOut,        // ETIMEDOUT (BLK_STS_TIMEOUT)
};
int ToErrno(TransportFailure failure);

inline constexpr int kMaxRetriesPerCommand = 5;

// Per-command retry counter; lives in the task slot, no allocation.
class RetryBudget {
 public:
  constexpr explicit RetryBudget(int max_retries = kMaxRetriesPerCommand)
      : max_retries_(max_retries) {}

  // True (and one retry consumed) if `outcome` is kRetry and the budget is
  // not exhausted. False for kSuccess/kFail or when the budget is spent.
  bool ShouldRetry(CommandOutcome outcome) {
    if (outcome != CommandOutcome::kRetry || used_ >= max_retries_) {
      return false;
    }
    ++used_;
    return true;
  }
  int used() const { return used_; }
  bool exhausted() const { return used_ >= max_retries_; }
  void Reset() { used_ = 0; }

 private:
  int max_retries_;
  int used_ = 0;
};

}  // namespace isergw::scsi

#endif  // ISERGW_ISER_CLIENT_SCSI_STATUS_H_
