#include "iser_client/scsi/sense.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/scsi/byte_order.h"

namespace isergw::scsi {
namespace {

using internal::LoadBe16;
using internal::LoadBe32;
using internal::LoadBe64;

constexpr uint8_t kFixedCurrent = 0x70;
constexpr uint8_t kFixedDeferred = 0x71;
constexpr uint8_t kDescriptorCurrent = 0x72;
constexpr uint8_t kDescriptorDeferred = 0x73;
constexpr uint8_t kInformationDescriptor = 0x00;

// Bytes 0..7 of both formats precede the additional sense bytes; byte 7 is
// the ADDITIONAL SENSE LENGTH. Returns how many bytes are really usable.
size_t UsableLength(std::span<const uint8_t> sense) {
  if (sense.size() < 8) {
    return sense.size();
  }
  return std::min(sense.size(), size_t{8} + sense[7]);
}

SenseData DecodeFixed(std::span<const uint8_t> sense) {
  const size_t n = UsableLength(sense);
  SenseData out;
  out.response_code = sense[0] & 0x7f;
  out.deferred = out.response_code == kFixedDeferred;
  out.key = static_cast<SenseKey>(sense[2] & 0x0f);
  if ((sense[0] & 0x80) != 0 && n >= 7) {
    out.information_valid = true;
    out.information = LoadBe32(&sense[3]);
  }
  if (n > 12) {
    out.asc = sense[12];
  }
  if (n > 13) {
    out.ascq = sense[13];
  }
  return out;
}

SenseData DecodeDescriptor(std::span<const uint8_t> sense) {
  const size_t n = UsableLength(sense);
  SenseData out;
  out.response_code = sense[0] & 0x7f;
  out.descriptor_format = true;
  out.deferred = out.response_code == kDescriptorDeferred;
  out.key = static_cast<SenseKey>(sense[1] & 0x0f);
  if (n > 2) {
    out.asc = sense[2];
  }
  if (n > 3) {
    out.ascq = sense[3];
  }
  // Walk the descriptors; one that would run past the usable bytes ends the
  // walk (it is truncated or lying about its length).
  size_t pos = 8;
  while (pos + 2 <= n) {
    const uint8_t type = sense[pos];
    const size_t len = size_t{2} + sense[pos + 1];
    if (pos + len > n) {
      break;
    }
    // Information descriptor: type, 0x0a, VALID|reserved, reserved, 8 bytes.
    if (type == kInformationDescriptor && len >= 12 && (sense[pos + 2] & 0x80) != 0) {
      out.information_valid = true;
      out.information = LoadBe64(&sense[pos + 4]);
    }
    pos += len;
  }
  return out;
}

struct AscEntry {
  uint8_t asc;
  uint8_t ascq;
  std::string_view text;
};

// The pairs an iSCSI block initiator meets in practice (SPC-4 annex D).
constexpr AscEntry kAscTable[] = {
    {0x00, 0x00, "NO ADDITIONAL SENSE INFORMATION"},
    {0x00, 0x16, "OPERATION IN PROGRESS"},
    {0x04, 0x00, "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE"},
    {0x04, 0x01, "LOGICAL UNIT IS IN PROCESS OF BECOMING READY"},
    {0x04, 0x02, "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED"},
    {0x04, 0x03, "LOGICAL UNIT NOT READY, MANUAL INTERVENTION REQUIRED"},
    {0x04, 0x04, "LOGICAL UNIT NOT READY, FORMAT IN PROGRESS"},
    {0x04, 0x07, "LOGICAL UNIT NOT READY, OPERATION IN PROGRESS"},
    {0x04, 0x09, "LOGICAL UNIT NOT READY, SELF-TEST IN PROGRESS"},
    {0x04, 0x0a, "LOGICAL UNIT NOT ACCESSIBLE, ASYMMETRIC ACCESS STATE TRANSITION"},
    {0x04, 0x0b, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY STATE"},
    {0x04, 0x0c, "LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN UNAVAILABLE STATE"},
    {0x04, 0x11, "LOGICAL UNIT NOT READY, NOTIFY (ENABLE SPINUP) REQUIRED"},
    {0x08, 0x00, "LOGICAL UNIT COMMUNICATION FAILURE"},
    {0x0c, 0x00, "WRITE ERROR"},
    {0x0c, 0x02, "WRITE ERROR - AUTO REALLOCATION FAILED"},
    {0x10, 0x01, "LOGICAL BLOCK GUARD CHECK FAILED"},
    {0x10, 0x02, "LOGICAL BLOCK APPLICATION TAG CHECK FAILED"},
    {0x10, 0x03, "LOGICAL BLOCK REFERENCE TAG CHECK FAILED"},
    {0x11, 0x00, "UNRECOVERED READ ERROR"},
    {0x14, 0x01, "RECORD NOT FOUND"},
    {0x1a, 0x00, "PARAMETER LIST LENGTH ERROR"},
    {0x1d, 0x00, "MISCOMPARE DURING VERIFY OPERATION"},
    {0x20, 0x00, "INVALID COMMAND OPERATION CODE"},
    {0x21, 0x00, "LOGICAL BLOCK ADDRESS OUT OF RANGE"},
    {0x24, 0x00, "INVALID FIELD IN CDB"},
    {0x25, 0x00, "LOGICAL UNIT NOT SUPPORTED"},
    {0x26, 0x00, "INVALID FIELD IN PARAMETER LIST"},
    {0x27, 0x00, "WRITE PROTECTED"},
    {0x27, 0x01, "HARDWARE WRITE PROTECTED"},
    {0x27, 0x02, "LOGICAL UNIT SOFTWARE WRITE PROTECTED"},
    {0x27, 0x07, "SPACE ALLOCATION FAILED WRITE PROTECT"},
    {0x28, 0x00, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED"},
    {0x29, 0x00, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED"},
    {0x29, 0x01, "POWER ON OCCURRED"},
    {0x29, 0x02, "SCSI BUS RESET OCCURRED"},
    {0x29, 0x03, "BUS DEVICE RESET FUNCTION OCCURRED"},
    {0x29, 0x04, "DEVICE INTERNAL RESET"},
    {0x29, 0x07, "I_T NEXUS LOSS OCCURRED"},
    {0x2a, 0x01, "MODE PARAMETERS CHANGED"},
    {0x2a, 0x03, "RESERVATIONS PREEMPTED"},
    {0x2a, 0x04, "RESERVATIONS RELEASED"},
    {0x2a, 0x05, "REGISTRATIONS PREEMPTED"},
    {0x2a, 0x06, "ASYMMETRIC ACCESS STATE CHANGED"},
    {0x2a, 0x09, "CAPACITY DATA HAS CHANGED"},
    {0x2f, 0x00, "COMMANDS CLEARED BY ANOTHER INITIATOR"},
    {0x38, 0x07, "THIN PROVISIONING SOFT THRESHOLD REACHED"},
    {0x3a, 0x00, "MEDIUM NOT PRESENT"},
    {0x3f, 0x03, "INQUIRY DATA HAS CHANGED"},
    {0x3f, 0x0e, "REPORTED LUNS DATA HAS CHANGED"},
    {0x44, 0x00, "INTERNAL TARGET FAILURE"},
    {0x47, 0x00, "SCSI PARITY ERROR"},
    {0x4b, 0x00, "DATA PHASE ERROR"},
    {0x4e, 0x00, "OVERLAPPED COMMANDS ATTEMPTED"},
    {0x55, 0x03, "INSUFFICIENT RESOURCES"},
};

}  // namespace

absl::StatusOr<SenseData> DecodeSense(std::span<const uint8_t> sense) {
  if (sense.empty()) {
    return absl::InvalidArgumentError("sense data is empty");
  }
  const uint8_t code = sense[0] & 0x7f;
  switch (code) {
    case kFixedCurrent:
    case kFixedDeferred:
      if (sense.size() < 3) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "fixed format sense data of %d bytes lacks the sense key byte", sense.size()));
      }
      return DecodeFixed(sense);
    case kDescriptorCurrent:
    case kDescriptorDeferred:
      if (sense.size() < 2) {
        return absl::InvalidArgumentError(
            "descriptor format sense data of 1 byte lacks the sense key byte");
      }
      return DecodeDescriptor(sense);
    default:
      return absl::InvalidArgumentError(
          absl::StrFormat("unsupported sense response code 0x%02x", code));
  }
}

absl::StatusOr<std::optional<SenseData>> DecodeIscsiSenseSegment(
    std::span<const uint8_t> data_segment) {
  if (data_segment.empty()) {
    return std::optional<SenseData>();
  }
  if (data_segment.size() < 2) {
    return absl::InvalidArgumentError("SCSI Response data segment of 1 byte lacks SenseLength");
  }
  const size_t sense_length = LoadBe16(data_segment.data());
  if (sense_length == 0) {
    return std::optional<SenseData>();
  }
  if (sense_length > data_segment.size() - 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SenseLength %d exceeds the %d sense bytes in the data segment",
                        sense_length, data_segment.size() - 2));
  }
  absl::StatusOr<SenseData> sense = DecodeSense(data_segment.subspan(2, sense_length));
  if (!sense.ok()) {
    return sense.status();
  }
  return std::optional<SenseData>(*sense);
}

std::string_view SenseKeyName(SenseKey key) {
  switch (key) {
    case SenseKey::kNoSense:
      return "NO SENSE";
    case SenseKey::kRecoveredError:
      return "RECOVERED ERROR";
    case SenseKey::kNotReady:
      return "NOT READY";
    case SenseKey::kMediumError:
      return "MEDIUM ERROR";
    case SenseKey::kHardwareError:
      return "HARDWARE ERROR";
    case SenseKey::kIllegalRequest:
      return "ILLEGAL REQUEST";
    case SenseKey::kUnitAttention:
      return "UNIT ATTENTION";
    case SenseKey::kDataProtect:
      return "DATA PROTECT";
    case SenseKey::kBlankCheck:
      return "BLANK CHECK";
    case SenseKey::kVendorSpecific:
      return "VENDOR SPECIFIC";
    case SenseKey::kCopyAborted:
      return "COPY ABORTED";
    case SenseKey::kAbortedCommand:
      return "ABORTED COMMAND";
    case SenseKey::kReserved:
      return "RESERVED";
    case SenseKey::kVolumeOverflow:
      return "VOLUME OVERFLOW";
    case SenseKey::kMiscompare:
      return "MISCOMPARE";
    case SenseKey::kCompleted:
      return "COMPLETED";
  }
  return "UNKNOWN SENSE KEY";
}

std::string_view AscAscqText(uint8_t asc, uint8_t ascq) {
  for (const AscEntry& e : kAscTable) {
    if (e.asc == asc && e.ascq == ascq) {
      return e.text;
    }
  }
  return {};
}

std::string DescribeSense(const SenseData& sense) {
  std::string_view text = AscAscqText(sense.asc, sense.ascq);
  std::string detail = text.empty()
                           ? absl::StrFormat("ASC 0x%02x ASCQ 0x%02x", sense.asc, sense.ascq)
                           : std::string(text);
  return absl::StrFormat("%s%s: %s (sense %x/%02x/%02x)", sense.deferred ? "deferred " : "",
                         SenseKeyName(sense.key), detail, static_cast<int>(sense.key), sense.asc,
                         sense.ascq);
}

}  // namespace isergw::scsi
