#include "iser_client/config/digest_option.h"

#include "absl/strings/str_cat.h"
#include "iser_client/config/exit_codes.h"

namespace isergw::iscsi {

absl::StatusOr<std::vector<Digest>> ParseDigestPreference(absl::string_view text,
                                                          absl::string_view what) {
  if (text == "none") return std::vector<Digest>{Digest::kNone};
  if (text == "crc32c") return std::vector<Digest>{Digest::kCrc32c};
  if (text == "prefer-crc32c") return std::vector<Digest>{Digest::kCrc32c, Digest::kNone};
  return WithFailure(absl::InvalidArgumentError(absl::StrCat(
                         what, " must be none, crc32c or prefer-crc32c, not '", text, "'")),
                     FailureKind::kInvalidArgument);
}

}  // namespace isergw::iscsi
