// REPORT LUNS parameter data (SPC-4 6.33): an 8-byte header whose first 4
// bytes are the LUN LIST LENGTH, then one 8-byte LUN per entry.
#ifndef ISERGW_ISER_CLIENT_SCSI_REPORT_LUNS_H_
#define ISERGW_ISER_CLIENT_SCSI_REPORT_LUNS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace isergw::scsi {

struct ReportLuns {
  std::vector<uint32_t> luns;  // decoded LUN numbers, in target order
  // Entries whose addressing DecodeLun does not support (multi-level,
  // well-known LUNs); they are skipped, not fatal.
  size_t skipped_entries = 0;
  // The list was cut short by the allocation length: reissue REPORT LUNS with
  // at least `required_allocation_length` bytes to see every LUN.
  bool truncated = false;
  size_t required_allocation_length = 0;
};

// Needs the 8-byte header. A LUN LIST LENGTH that is not a multiple of 8 gives
// InvalidArgument. A length claiming more than the buffer holds is treated as
// truncation: only whole entries present are decoded.
absl::StatusOr<ReportLuns> DecodeReportLuns(std::span<const uint8_t> data);

}  // namespace isergw::scsi

#endif  // ISERGW_ISER_CLIENT_SCSI_REPORT_LUNS_H_
