#ifndef ISER_CLIENT_SCSI_MODE_SENSE_H_
#define ISER_CLIENT_SCSI_MODE_SENSE_H_

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace isergw::scsi {

inline constexpr uint8_t kCachingModePage = 0x08;

// What a block device's write path needs from MODE SENSE(10) of the caching
// page (SBC-3 6.5.5): whether the device has a volatile write cache (WCE),
// and whether it honours FUA (DPOFUA in the header's device-specific
// parameter). A target that sets neither wants neither flushes nor FUA; one
// that rejects FUA while DPOFUA is clear is within its rights.
struct CachingMode {
  bool write_cache_enabled = false;  // WCE
  bool read_cache_disabled = false;  // RCD
  bool dpofua = false;               // DPO and FUA bits are honoured
  bool write_protected = false;      // WP
};

// Decodes a MODE SENSE(10) answer that holds the caching page. Errors: too
// short, a page length past the data, or no caching page in it.
absl::StatusOr<CachingMode> DecodeCachingModeSense10(std::span<const uint8_t> data);

}  // namespace isergw::scsi

#endif  // ISER_CLIENT_SCSI_MODE_SENSE_H_
