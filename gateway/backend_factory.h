#ifndef GATEWAY_BACKEND_FACTORY_H_
#define GATEWAY_BACKEND_FACTORY_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "gateway/iscsi_backend.h"
#include "iser_client/client/initiator.h"
#include "iser_client/config/url.h"
#include "ublk/backend.h"

namespace isergw::gateway {

struct BackendOptions {
  // mem:// and file://: the logical block size (0: 512, or the file's device).
  uint32_t block_size = 0;
  // iscsi:// and iser://: how to log in (names, CHAP, timeouts), as the CLI
  // resolved it from the URL, flags and credential files.
  std::optional<iscsi::InitiatorOptions> initiator;
  // iscsi:// and iser://: more portals and the replacement timeout.
  PathOptions paths;
};

// The backend a URL names: RAM, a local file or block device, or an iSCSI LUN
// over TCP or iSER.
absl::StatusOr<std::unique_ptr<ublk::Backend>> OpenBackend(const iscsi::ParsedUrl& url,
                                                           const BackendOptions& options);

}  // namespace isergw::gateway

#endif  // GATEWAY_BACKEND_FACTORY_H_
