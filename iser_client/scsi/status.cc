#include "iser_client/scsi/status.h"

#include <cerrno>
#include <string>

#include "absl/strings/str_format.h"

namespace isergw::scsi {
namespace {

constexpr uint8_t kAscNotReady = 0x04;
constexpr uint8_t kAscProtectionInfo = 0x10;
constexpr uint8_t kAscLbaOutOfRange = 0x21;
constexpr uint8_t kAscLunNotSupported = 0x25;
constexpr uint8_t kAscWriteProtected = 0x27;
constexpr uint8_t kAscqSpaceAllocationFailed = 0x07;

bool SpaceAllocationFailed(const SenseData& s) {
  return s.key == SenseKey::kDataProtect && s.asc == kAscWriteProtected &&
         s.ascq == kAscqSpaceAllocationFailed;
}

// NOT READY states that end by themselves (Linux retries the same set).
bool NotReadyIsTransient(const SenseData& s) {
  if (s.asc != kAscNotReady) {
    return false;
  }
  switch (s.ascq) {
    case 0x01:  // becoming ready
    case 0x04:  // format in progress
    case 0x05:  // rebuild in progress
    case 0x06:  // recalculation in progress
    case 0x07:  // operation in progress
    case 0x08:  // long write in progress
    case 0x09:  // self-test in progress
    case 0x0a:  // asymmetric access state transition
    case 0x14:  // space allocation in progress
    case 0x1a:  // start stop unit in progress
    case 0x1b:  // sanitize in progress
    case 0x1d:  // configuration in progress
      return true;
    default:
      return false;
  }
}

CommandOutcome ClassifySense(const SenseData& s) {
  if (s.deferred) {
    return CommandOutcome::kRetry;
  }
  switch (s.key) {
    case SenseKey::kRecoveredError:
    case SenseKey::kCompleted:
      return CommandOutcome::kSuccess;
    case SenseKey::kNoSense:
    case SenseKey::kUnitAttention:
      return CommandOutcome::kRetry;
    case SenseKey::kAbortedCommand:
      return s.asc == kAscProtectionInfo ? CommandOutcome::kFail : CommandOutcome::kRetry;
    case SenseKey::kNotReady:
      return NotReadyIsTransient(s) ? CommandOutcome::kRetry : CommandOutcome::kFail;
    default:
      return CommandOutcome::kFail;
  }
}

absl::StatusCode SenseCode(const SenseData& s) {
  switch (s.key) {
    case SenseKey::kIllegalRequest:
      if (s.asc == kAscLbaOutOfRange) {
        return absl::StatusCode::kOutOfRange;
      }
      if (s.asc == kAscLunNotSupported) {
        return absl::StatusCode::kNotFound;
      }
      return absl::StatusCode::kInvalidArgument;
    case SenseKey::kDataProtect:
      return SpaceAllocationFailed(s) ? absl::StatusCode::kResourceExhausted
                                      : absl::StatusCode::kPermissionDenied;
    case SenseKey::kNotReady:
    case SenseKey::kUnitAttention:
    case SenseKey::kNoSense:
      return absl::StatusCode::kUnavailable;
    case SenseKey::kMediumError:
      return absl::StatusCode::kDataLoss;
    case SenseKey::kAbortedCommand:
    case SenseKey::kMiscompare:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

std::string_view StatusName(uint8_t scsi_status) {
  switch (scsi_status) {
    case status::kGood:
      return "GOOD";
    case status::kCheckCondition:
      return "CHECK CONDITION";
    case status::kConditionMet:
      return "CONDITION MET";
    case status::kBusy:
      return "BUSY";
    case status::kReservationConflict:
      return "RESERVATION CONFLICT";
    case status::kTaskSetFull:
      return "TASK SET FULL";
    case status::kAcaActive:
      return "ACA ACTIVE";
    case status::kTaskAborted:
      return "TASK ABORTED";
    default:
      return "UNKNOWN STATUS";
  }
}

CommandOutcome Classify(uint8_t scsi_status, const SenseData* sense) {
  switch (scsi_status) {
    case status::kGood:
    case status::kConditionMet:
      return CommandOutcome::kSuccess;
    case status::kCheckCondition:
      return sense == nullptr ? CommandOutcome::kFail : ClassifySense(*sense);
    case status::kBusy:
    case status::kTaskSetFull:
    case status::kAcaActive:
    case status::kTaskAborted:
      return CommandOutcome::kRetry;
    default:
      return CommandOutcome::kFail;
  }
}

absl::Status ToStatus(uint8_t scsi_status, const SenseData* sense) {
  if (Classify(scsi_status, sense) == CommandOutcome::kSuccess) {
    return absl::OkStatus();
  }
  switch (scsi_status) {
    case status::kCheckCondition:
      if (sense == nullptr) {
        return absl::InternalError("SCSI status CHECK CONDITION without sense data");
      }
      return absl::Status(SenseCode(*sense), DescribeSense(*sense));
    case status::kBusy:
    case status::kTaskSetFull:
    case status::kAcaActive:
      return absl::UnavailableError(absl::StrFormat("SCSI status %s", StatusName(scsi_status)));
    case status::kTaskAborted:
      return absl::AbortedError("SCSI status TASK ABORTED");
    case status::kReservationConflict:
      return absl::FailedPreconditionError("SCSI status RESERVATION CONFLICT");
    default:
      return absl::UnknownError(absl::StrFormat("unknown SCSI status 0x%02x", scsi_status));
  }
}

int ToErrno(uint8_t scsi_status, const SenseData* sense) {
  if (Classify(scsi_status, sense) == CommandOutcome::kSuccess) {
    return 0;
  }
  if (scsi_status == status::kReservationConflict) {
    return EBADE;
  }
  if (scsi_status != status::kCheckCondition || sense == nullptr || sense->deferred) {
    return EIO;
  }
  const SenseData& s = *sense;
  switch (s.key) {
    case SenseKey::kDataProtect:
      return SpaceAllocationFailed(s) ? ENOSPC : EREMOTEIO;
    case SenseKey::kCopyAborted:
    case SenseKey::kVolumeOverflow:
    case SenseKey::kMiscompare:
    case SenseKey::kBlankCheck:
    case SenseKey::kHardwareError:
      return EREMOTEIO;
    case SenseKey::kMediumError:
      return (s.asc == 0x11 || s.asc == 0x13 || s.asc == 0x14) ? ENODATA : EIO;
    case SenseKey::kIllegalRequest:
      switch (s.asc) {
        case kAscProtectionInfo:
          return EILSEQ;
        case 0x20:  // invalid command operation code
        case 0x21:  // LBA out of range
        case 0x22:  // invalid function
        case 0x24:  // invalid field in CDB
        case 0x26:  // invalid field in parameter list
        case 0x27:  // write protected
          return EREMOTEIO;
        default:
          return EIO;
      }
    case SenseKey::kAbortedCommand:
      return s.asc == kAscProtectionInfo ? EILSEQ : EIO;
    default:
      return EIO;
  }
}

int ToErrno(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kConnectionLost:
      return ENOLINK;
    case TransportFailure::kTimedOut:
      return ETIMEDOUT;
  }
  return EIO;
}

}  // namespace isergw::scsi
