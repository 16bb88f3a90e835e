#include "iser_client/client/lun_probe.h"

#include <glog/logging.h>

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/capacity.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/report_luns.h"

namespace isergw::iscsi {
namespace {

constexpr uint16_t kVpdBuffer = 4096;

absl::StatusOr<std::vector<uint8_t>> ReadVpd(Initiator& initiator, uint64_t lun_field,
                                             uint8_t page) {
  std::vector<uint8_t> data(kVpdBuffer);
  auto outcome = initiator.Execute(lun_field, scsi::MakeInquiryVpd(page, kVpdBuffer),
                                   DataDirection::kRead, data);
  if (!outcome.ok()) {
    LOG(WARNING) << "INQUIRY VPD page 0x" << std::hex << int{page} << ": " << outcome.status();
    return outcome.status();
  }
  data.resize(data.size() - std::min<size_t>(outcome->residual, data.size()));
  return data;
}

absl::Status LunNotFound(uint32_t lun, const std::string& detail) {
  absl::Status status = absl::NotFoundError(absl::StrCat("the target has no LUN ", lun, detail));
  TagFailure(status, FailureKind::kLunNotFound);
  return status;
}

}  // namespace

uint64_t LunInfo::max_transfer_bytes() const {
  if (!block_limits || block_limits->max_transfer_length == 0) return 0;
  return uint64_t{block_limits->max_transfer_length} * block_size;
}

bool LunInfo::supports_unmap() const {
  return thin_provisioned && provisioning && provisioning->lbpu;
}

bool LunInfo::supports_write_same_unmap() const {
  return thin_provisioned && provisioning && provisioning->lbpws;
}

absl::StatusOr<LunInfo> ProbeLun(Initiator& initiator, uint32_t lun) {
  LunInfo info;
  info.lun = lun;
  const uint64_t lun_field = scsi::EncodeLun(lun);

  // REPORT LUNS goes to LUN 0, which every target has (SPC-4 well-known).
  std::vector<uint8_t> luns_data(16384);
  auto report = initiator.Execute(scsi::EncodeLun(0), scsi::MakeReportLuns(16384),
                                  DataDirection::kRead, luns_data);
  if (report.ok()) {
    luns_data.resize(luns_data.size() - std::min<size_t>(report->residual, luns_data.size()));
    auto luns = scsi::DecodeReportLuns(luns_data);
    if (luns.ok() && std::find(luns->luns.begin(), luns->luns.end(), lun) == luns->luns.end()) {
      return LunNotFound(lun,
                         luns->luns.empty()
                             ? " (it reports none)"
                             : absl::StrCat(" (it has LUN ", absl::StrJoin(luns->luns, ", "), ")"));
    }
  }

  std::vector<uint8_t> inquiry(scsi::kStandardInquiryAllocation);
  auto outcome = initiator.Execute(lun_field, scsi::MakeInquiry(), DataDirection::kRead, inquiry);
  if (!outcome.ok()) {
    if (outcome.status().code() == absl::StatusCode::kNotFound) {
      return LunNotFound(lun, absl::StrCat(": ", outcome.status().message()));
    }
    return outcome.status();
  }
  auto standard = scsi::DecodeStandardInquiry(inquiry);
  if (!standard.ok()) return standard.status();
  if (standard->peripheral_qualifier == 3) return LunNotFound(lun, "");
  info.device_type = standard->device_type;
  info.vendor = standard->vendor;
  info.product = standard->product;
  info.revision = standard->revision;
  if (info.device_type != 0) {
    absl::Status status = absl::FailedPreconditionError(absl::StrCat(
        "LUN ", lun, " is not a disk (SCSI peripheral device type ", info.device_type, ")"));
    TagFailure(status, FailureKind::kInvalidArgument);
    return status;
  }

  std::vector<uint8_t> pages;
  if (auto page0 = ReadVpd(initiator, lun_field, 0x00); page0.ok()) {
    auto supported = scsi::DecodeSupportedVpdPages(*page0);
    if (supported.ok()) {
      pages = *supported;
    } else {
      LOG(WARNING) << "VPD page 0x00 of " << page0->size() << " bytes: " << supported.status();
    }
  }
  auto has_page = [&](uint8_t p) {
    return std::find(pages.begin(), pages.end(), p) != pages.end();
  };
  if (has_page(0x80)) {
    if (auto page = ReadVpd(initiator, lun_field, 0x80); page.ok()) {
      if (auto serial = scsi::DecodeUnitSerialNumber(*page); serial.ok()) info.serial = *serial;
    }
  }
  if (has_page(0x83)) {
    if (auto page = ReadVpd(initiator, lun_field, 0x83); page.ok()) {
      if (auto ids = scsi::DecodeDeviceIdentification(*page); ids.ok()) {
        info.wwn = ids->Wwn().value_or("");
      }
    }
  }
  if (has_page(0xb0)) {
    if (auto page = ReadVpd(initiator, lun_field, 0xb0); page.ok()) {
      if (auto limits = scsi::DecodeBlockLimits(*page); limits.ok()) info.block_limits = *limits;
    }
  }
  if (has_page(0xb2)) {
    if (auto page = ReadVpd(initiator, lun_field, 0xb2); page.ok()) {
      if (auto lbp = scsi::DecodeLogicalBlockProvisioning(*page); lbp.ok()) {
        info.provisioning = *lbp;
      }
    }
  }

  std::vector<uint8_t> mode(255);
  if (auto sensed = initiator.Execute(lun_field, scsi::MakeModeSense10(scsi::kCachingModePage),
                                      DataDirection::kRead, mode);
      sensed.ok()) {
    mode.resize(mode.size() - std::min<size_t>(sensed->residual, mode.size()));
    if (auto caching = scsi::DecodeCachingModeSense10(mode); caching.ok()) info.caching = *caching;
  }

  // READ CAPACITY(16) first: it alone carries the physical block size and the
  // thin-provisioning bits. Targets without it get (10).
  std::vector<uint8_t> capacity_data(scsi::kReadCapacity16Allocation);
  absl::StatusOr<scsi::Capacity> capacity = absl::UnknownError("not read");
  if (initiator.Execute(lun_field, scsi::MakeReadCapacity16(), DataDirection::kRead, capacity_data)
          .ok()) {
    capacity = scsi::DecodeReadCapacity16(capacity_data);
  }
  if (!capacity.ok()) {
    capacity_data.assign(8, 0);
    auto rc10 = initiator.Execute(lun_field, scsi::MakeReadCapacity10(), DataDirection::kRead,
                                  capacity_data);
    if (!rc10.ok()) return rc10.status();
    capacity = scsi::DecodeReadCapacity10(capacity_data);
    if (!capacity.ok()) return capacity.status();
  }
  info.block_count = capacity->block_count;
  info.block_size = capacity->block_size;
  info.physical_block_size = static_cast<uint32_t>(capacity->physical_block_size());
  info.thin_provisioned = capacity->lbpme;
  info.unmapped_reads_zero = capacity->lbprz;
  if (info.block_size == 0 || (info.block_size & (info.block_size - 1)) != 0) {
    return absl::DataLossError(
        absl::StrCat("target reports an unusable block size of ", info.block_size, " bytes"));
  }
  return info;
}

}  // namespace isergw::iscsi
