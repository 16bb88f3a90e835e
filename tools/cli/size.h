#ifndef TOOLS_CLI_SIZE_H_
#define TOOLS_CLI_SIZE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace isergw::cli {

// "4096", "4k", "1M", "2g" (binary multiples) for a flag named `flag`.
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text, absl::string_view flag);

}  // namespace isergw::cli

#endif  // TOOLS_CLI_SIZE_H_
