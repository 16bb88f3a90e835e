#ifndef ISER_CLIENT_CLIENT_LUN_PROBE_H_
#define ISER_CLIENT_CLIENT_LUN_PROBE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "iser_client/client/initiator.h"
#include "iser_client/scsi/inquiry.h"
#include "iser_client/scsi/mode_sense.h"

namespace isergw::iscsi {

// What `isergw info` shows and what a frontend needs to present a LUN as a
// block device: identity, geometry and the limits from VPD pages.
struct LunInfo {
  uint32_t lun = 0;
  uint8_t device_type = 0;
  std::string vendor, product, revision;
  std::string serial;  // VPD 0x80, empty if not supported
  std::string wwn;     // VPD 0x83, Linux by-id style ("naa.…"), empty if none
  uint64_t block_count = 0;
  uint32_t block_size = 0;
  uint32_t physical_block_size = 0;
  bool thin_provisioned = false;                               // LBPME
  bool unmapped_reads_zero = false;                            // LBPRZ
  std::optional<scsi::BlockLimits> block_limits;               // VPD 0xB0
  std::optional<scsi::LogicalBlockProvisioning> provisioning;  // VPD 0xB2
  std::optional<scsi::CachingMode> caching;  // MODE SENSE caching page: WCE, DPOFUA

  uint64_t size_bytes() const { return block_count * block_size; }
  // The largest transfer in bytes the LUN takes in one command (0: no limit).
  uint64_t max_transfer_bytes() const;
  bool supports_unmap() const;
  bool supports_write_same_unmap() const;
};

// Checks that the LUN exists (REPORT LUNS, then INQUIRY's peripheral
// qualifier) and reads its identity and geometry. A LUN the target does not
// have gives NotFound tagged kLunNotFound.
absl::StatusOr<LunInfo> ProbeLun(Initiator& initiator, uint32_t lun);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CLIENT_LUN_PROBE_H_
