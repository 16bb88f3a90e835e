// Reading the small text files configuration lives in (a few hundred
// bytes), with a size cap so a wrong path (a disk, /dev/zero) fails fast.
#ifndef ISER_CLIENT_CONFIG_SMALL_FILE_H_
#define ISER_CLIENT_CONFIG_SMALL_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace isergw::iscsi {

inline constexpr size_t kMaxConfigFileSize = size_t{64} * 1024;

// Reads all of `fd` (which the caller owns) into a string reserved up front,
// so a secret is never left behind in a reallocated buffer. `path` is only
// used in error messages.
absl::StatusOr<std::string> ReadSmallFile(int fd, absl::string_view path);

// Splits one line of a "key=value" file and trims whitespace. Returns false
// for a blank line or one whose first non-blank character is '#'; with
// `strip_comments` a '#' anywhere starts a comment (not for files whose
// values are secrets, which may contain '#').
// Sets `has_equals` to whether there was a '='.
bool SplitConfigLine(absl::string_view line, bool strip_comments, absl::string_view& key,
                     absl::string_view& value, bool& has_equals);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_SMALL_FILE_H_
