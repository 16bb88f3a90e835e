// The digest a user asks for ("none", "crc32c", "prefer-crc32c": the
// --header-digest/--data-digest flags and the daemon's volume records) as
// the login's ordered preference.
#ifndef ISER_CLIENT_CONFIG_DIGEST_OPTION_H_
#define ISER_CLIENT_CONFIG_DIGEST_OPTION_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/login/session_params.h"

namespace isergw::iscsi {

// InvalidArgument (tagged kInvalidArgument) naming `what` for anything else.
absl::StatusOr<std::vector<Digest>> ParseDigestPreference(absl::string_view text,
                                                          absl::string_view what);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_DIGEST_OPTION_H_
