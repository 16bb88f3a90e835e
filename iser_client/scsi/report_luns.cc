#include "iser_client/scsi/report_luns.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/scsi/byte_order.h"
#include "iser_client/scsi/cdb.h"

namespace isergw::scsi {

using internal::LoadBe32;
using internal::LoadBe64;

absl::StatusOr<ReportLuns> DecodeReportLuns(std::span<const uint8_t> data) {
  constexpr size_t kHeader = 8;
  constexpr size_t kEntry = 8;
  if (data.size() < kHeader) {
    return absl::InvalidArgumentError(
        absl::StrFormat("REPORT LUNS data is %d bytes, needs the 8-byte header", data.size()));
  }
  const uint32_t list_length = LoadBe32(&data[0]);
  if (list_length % kEntry != 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("REPORT LUNS list length %d is not a multiple of 8", list_length));
  }
  ReportLuns out;
  out.required_allocation_length = kHeader + size_t{list_length};
  const size_t available = (data.size() - kHeader) / kEntry;
  const size_t entries = std::min<size_t>(list_length / kEntry, available);
  out.truncated = entries < list_length / kEntry;
  out.luns.reserve(entries);
  for (size_t i = 0; i < entries; ++i) {
    absl::StatusOr<uint32_t> lun = DecodeLun(LoadBe64(&data[kHeader + i * kEntry]));
    if (lun.ok()) {
      out.luns.push_back(*lun);
    } else {
      ++out.skipped_entries;
    }
  }
  return out;
}

}  // namespace isergw::scsi
