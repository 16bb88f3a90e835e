// Validation of iSCSI names (RFC 7143 section 4.2.7): the three name types
// "iqn.", "eui." and "naa.". Used for the initiator name and for target
// names taken from URLs, so a typo is reported before any network traffic.
#ifndef ISER_CLIENT_CONFIG_ISCSI_NAME_H_
#define ISER_CLIENT_CONFIG_ISCSI_NAME_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace isergw::iscsi {

// Longest iSCSI name in bytes (RFC 7143 section 6.1: 223 bytes, UTF-8).
inline constexpr size_t kMaxIscsiNameLength = 223;

// Returns OK when `name` is a well-formed iSCSI name:
//   iqn.YYYY-MM.reversed.domain[:anything]   (letters, digits, '-', '.', ':')
//   eui.<16 hex digits>
//   naa.<16 or 32 hex digits>
// `what` names the value in the error ("initiator name", "target name").
// Upper-case letters are accepted (the RFC's stringprep maps them to lower
// case, and people paste names in both cases); so is '_', which the RFC does
// not allow but some vendors put in their target names.
absl::Status ValidateIscsiName(absl::string_view name, absl::string_view what);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_ISCSI_NAME_H_
