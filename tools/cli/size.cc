#include "tools/cli/size.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "iser_client/config/exit_codes.h"

namespace isergw::cli {

absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text, absl::string_view flag) {
  absl::string_view digits = text;
  int shift = 0;
  if (!digits.empty()) {
    switch (absl::ascii_tolower(digits.back())) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) digits.remove_suffix(1);
  }
  uint64_t value = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &value) || value == 0 ||
      value > (uint64_t{1} << (40 - shift))) {
    return iscsi::WithFailure(absl::InvalidArgumentError(absl::StrCat(
                                  flag, " takes a size like 4096, 4k or 1m, not '", text, "'")),
                              iscsi::FailureKind::kInvalidArgument);
  }
  return value << shift;
}

}  // namespace isergw::cli
