#include "iser_client/scsi/mode_sense.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace isergw::scsi {

absl::StatusOr<CachingMode> DecodeCachingModeSense10(std::span<const uint8_t> data) {
  // Header: MODE DATA LENGTH (2), MEDIUM TYPE, DEVICE-SPECIFIC PARAMETER,
  // reserved, LONGLBA, BLOCK DESCRIPTOR LENGTH (2); then descriptors, pages.
  constexpr size_t kHeader = 8;
  if (data.size() < kHeader) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MODE SENSE(10) answer of %u bytes is shorter than its header", data.size()));
  }
  const size_t mode_data_length = (size_t{data[0]} << 8 | data[1]) + 2;
  const size_t end = std::min(mode_data_length, data.size());
  const size_t descriptors = size_t{data[6]} << 8 | data[7];
  CachingMode mode;
  mode.write_protected = (data[3] & 0x80) != 0;
  mode.dpofua = (data[3] & 0x10) != 0;
  size_t offset = kHeader + descriptors;
  while (offset + 2 <= end) {
    const uint8_t code = data[offset] & 0x3f;
    const bool subpage_format = (data[offset] & 0x40) != 0;
    size_t page_length;
    size_t body;
    if (subpage_format) {
      if (offset + 4 > end) break;
      page_length = size_t{data[offset + 2]} << 8 | data[offset + 3];
      body = offset + 4;
    } else {
      page_length = data[offset + 1];
      body = offset + 2;
    }
    if (body + page_length > end) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "mode page 0x%02x claims %u bytes past the end of the answer", code, page_length));
    }
    if (code == kCachingModePage && !subpage_format) {
      if (page_length < 1) return absl::InvalidArgumentError("caching mode page is empty");
      mode.write_cache_enabled = (data[body] & 0x04) != 0;
      mode.read_cache_disabled = (data[body] & 0x01) != 0;
      return mode;
    }
    offset = body + page_length;
  }
  return absl::NotFoundError("the MODE SENSE answer has no caching page");
}

}  // namespace isergw::scsi
