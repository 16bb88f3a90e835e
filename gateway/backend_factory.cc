#include "gateway/backend_factory.h"

#include "absl/strings/str_cat.h"
#include "gateway/iscsi_backend.h"
#include "iser_client/config/exit_codes.h"
#include "ublk/file_backend.h"
#include "ublk/ram_backend.h"

namespace isergw::gateway {

absl::StatusOr<std::unique_ptr<ublk::Backend>> OpenBackend(const iscsi::ParsedUrl& url,
                                                           const BackendOptions& options) {
  switch (url.scheme) {
    case iscsi::ParsedUrl::Scheme::kMem: {
      auto ram = ublk::RamBackend::Create(url.mem_size,
                                          options.block_size == 0 ? 512 : options.block_size);
      if (!ram.ok()) return ram.status();
      return std::unique_ptr<ublk::Backend>(std::move(*ram));
    }
    case iscsi::ParsedUrl::Scheme::kFile: {
      ublk::FileBackendOptions file_options;
      file_options.logical_block_size = options.block_size;
      auto file = ublk::FileBackend::Open(url.path, file_options);
      if (!file.ok()) return file.status();
      return std::unique_ptr<ublk::Backend>(std::move(*file));
    }
    case iscsi::ParsedUrl::Scheme::kIscsi:
    case iscsi::ParsedUrl::Scheme::kIser: {
      if (!options.initiator.has_value()) {
        return iscsi::WithFailure(
            absl::InvalidArgumentError("an iSCSI backend needs login options"),
            iscsi::FailureKind::kInvalidArgument);
      }
      auto lun = IscsiBackend::Open(*options.initiator, url.lun, options.paths);
      if (!lun.ok()) return lun.status();
      return std::unique_ptr<ublk::Backend>(std::move(*lun));
    }
  }
  return absl::InvalidArgumentError("unknown URL scheme");
}

}  // namespace isergw::gateway
