// isergw info URL: identity, geometry and limits of one LUN.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "iser_client/config/exit_codes.h"
#include "tools/cli/flags.h"
#include "tools/cli/report.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"

namespace isergw::cli {

int RunInfo(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportFailure(
        iscsi::WithFailure(absl::InvalidArgumentError("usage: isergw info URL [--json]"),
                           iscsi::FailureKind::kInvalidArgument));
  }
  auto lun = OpenLun(args[0], 8);
  if (!lun.ok()) return ReportFailure(lun.status());
  const iscsi::LunInfo& info = lun->info;
  const iscsi::SessionParams& params = lun->initiator->session().params();
  (void)lun->initiator->Logout();

  if (FLAGS_json) {
    nlohmann::json doc = {
        {"url", lun->display},
        {"transport", iscsi::TransportKindName(lun->transport)},
        {"lun", info.lun},
        {"vendor", info.vendor},
        {"product", info.product},
        {"revision", info.revision},
        {"serial", info.serial},
        {"wwn", info.wwn},
        {"size_bytes", info.size_bytes()},
        {"block_count", info.block_count},
        {"block_size", info.block_size},
        {"physical_block_size", info.physical_block_size},
        {"thin_provisioned", info.thin_provisioned},
        {"unmapped_reads_zero", info.unmapped_reads_zero},
        {"supports_unmap", info.supports_unmap()},
        {"supports_write_same_unmap", info.supports_write_same_unmap()},
        {"max_transfer_bytes", info.max_transfer_bytes()},
    };
    if (info.block_limits) {
      const auto& b = *info.block_limits;
      doc["limits"] = {{"max_transfer_blocks", b.max_transfer_length},
                       {"optimal_transfer_blocks", b.optimal_transfer_length},
                       {"max_unmap_blocks", b.max_unmap_lba_count},
                       {"max_unmap_descriptors", b.max_unmap_block_descriptor_count},
                       {"unmap_granularity_blocks", b.optimal_unmap_granularity},
                       {"max_write_same_blocks", b.max_write_same_length}};
    }
    doc["negotiated"] = {
        {"header_digest", iscsi::DigestName(params.header_digest)},
        {"data_digest", iscsi::DigestName(params.data_digest)},
        {"max_recv_data_segment_length", params.MaxRecvDataSegmentLength()},
        {"max_send_data_segment_length", params.MaxSendDataSegmentLength()},
        {"max_burst_length", params.max_burst_length},
        {"first_burst_length", params.first_burst_length},
        {"immediate_data", params.immediate_data},
        {"initial_r2t", params.initial_r2t},
        {"max_outstanding_r2t", params.max_outstanding_r2t},
        {"error_recovery_level", params.error_recovery_level},
    };
    PrintJson(doc);
    return 0;
  }
  printf("URL:              %s\n", lun->display.c_str());
  printf("Vendor/product:   %s %s (rev %s)\n", info.vendor.c_str(), info.product.c_str(),
         info.revision.c_str());
  printf("Serial:           %s\n", info.serial.empty() ? "-" : info.serial.c_str());
  printf("WWN:              %s\n", info.wwn.empty() ? "-" : info.wwn.c_str());
  printf("Size:             %llu bytes (%llu blocks of %u; physical %u)\n",
         static_cast<unsigned long long>(info.size_bytes()),
         static_cast<unsigned long long>(info.block_count), info.block_size,
         info.physical_block_size);
  printf("Thin provisioned: %s%s\n", info.thin_provisioned ? "yes" : "no",
         info.thin_provisioned ? (info.supports_unmap() ? " (UNMAP)" : " (no UNMAP)") : "");
  if (info.block_limits) {
    const auto& b = *info.block_limits;
    printf("Max transfer:     %u blocks%s\n", b.max_transfer_length,
           b.max_transfer_length == 0 ? " (no limit)" : "");
    printf("Optimal transfer: %u blocks\n", b.optimal_transfer_length);
    printf("Max unmap:        %u blocks, %u descriptors\n", b.max_unmap_lba_count,
           b.max_unmap_block_descriptor_count);
  }
  printf("Digests:          header %s, data %s\n",
         std::string(iscsi::DigestName(params.header_digest)).c_str(),
         std::string(iscsi::DigestName(params.data_digest)).c_str());
  printf("Burst:            first %u, max %u; immediate data %s, initial R2T %s\n",
         params.first_burst_length, params.max_burst_length, params.immediate_data ? "yes" : "no",
         params.initial_r2t ? "yes" : "no");
  return 0;
}

}  // namespace isergw::cli
