// How the daemon logs in for a volume: the initiator name, CHAP from the
// credentials file the volume names, digests and timeouts. Only files hold
// secrets here: the daemon has no terminal or environment of the user's.
#ifndef GATEWAY_LOGIN_OPTIONS_H_
#define GATEWAY_LOGIN_OPTIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/volume_spec.h"
#include "iser_client/client/initiator.h"
#include "iser_client/config/url.h"

namespace isergw::gateway {

// The credentials file `chap` refers to: an absolute path as it is, a name
// as <config_dir>/chap/<name>.
std::string ChapFilePath(const std::string& chap, const std::string& config_dir);

// Login options for `spec` (an iSCSI URL, already parsed as `url`) over
// `transport`. Reads the CHAP file (refused unless mode 0600 or stricter).
absl::StatusOr<iscsi::InitiatorOptions> LoginOptionsFor(const VolumeSpec& spec,
                                                        const iscsi::ParsedUrl& url,
                                                        iscsi::TransportKind transport,
                                                        const std::string& config_dir);

}  // namespace isergw::gateway

#endif  // GATEWAY_LOGIN_OPTIONS_H_
