#include "iser_client/scsi/inquiry.h"

#include <algorithm>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "iser_client/scsi/byte_order.h"
#include "iser_client/scsi/cdb.h"

namespace isergw::scsi {
namespace {

using internal::LoadBe16;
using internal::LoadBe32;
using internal::LoadBe64;

constexpr size_t kVpdHeader = 4;
constexpr size_t kStandardInquiryMin = 36;

// ASCII fields are space padded; some targets pad with NULs instead.
std::string Trimmed(std::span<const uint8_t> field) {
  size_t begin = 0;
  size_t end = field.size();
  while (begin < end && field[begin] == ' ') {
    ++begin;
  }
  while (end > begin && (field[end - 1] == ' ' || field[end - 1] == '\0')) {
    --end;
  }
  return std::string(reinterpret_cast<const char*>(field.data()) + begin, end - begin);
}

// Checks the VPD header and returns the page (header included) cut to
// 4 + PAGE LENGTH.
absl::StatusOr<std::span<const uint8_t>> VpdPage(std::span<const uint8_t> data, uint8_t page) {
  if (data.size() < kVpdHeader) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "VPD page 0x%02x answer is %d bytes, shorter than its 4-byte header", page, data.size()));
  }
  if (data[1] != page) {
    return absl::InvalidArgumentError(
        absl::StrFormat("expected VPD page 0x%02x, got page 0x%02x", page, data[1]));
  }
  const size_t total = kVpdHeader + LoadBe16(&data[2]);
  if (total > data.size()) {
    return absl::DataLossError(absl::StrFormat(
        "VPD page 0x%02x claims %d bytes but only %d were received", page, total, data.size()));
  }
  return data.first(total);
}

std::string Hex(std::span<const uint8_t> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    absl::StrAppendFormat(&out, "%02x", b);
  }
  return out;
}

// Lower is better; -1 means "not a WWN candidate".
int WwnRank(const Designator& d) {
  if (d.association != static_cast<uint8_t>(Association::kLogicalUnit)) {
    return -1;
  }
  const size_t n = d.value.size();
  const bool binary = d.code_set == static_cast<uint8_t>(CodeSet::kBinary);
  switch (static_cast<DesignatorType>(d.designator_type)) {
    case DesignatorType::kNaa: {
      if (!binary || n == 0) {
        return -1;
      }
      const uint8_t naa = d.value[0] >> 4;
      if (naa == 6) {
        return n == 16 ? 0 : -1;
      }
      if (naa == 5) {
        return n == 8 ? 1 : -1;
      }
      return (naa == 2 || naa == 3) && n == 8 ? 2 : -1;
    }
    case DesignatorType::kEui64:
      return binary && (n == 8 || n == 12 || n == 16) ? 3 : -1;
    case DesignatorType::kT10VendorId:
      return d.code_set == static_cast<uint8_t>(CodeSet::kAscii) && n >= 8 ? 4 : -1;
    default:
      return -1;
  }
}

}  // namespace

absl::StatusOr<StandardInquiry> DecodeStandardInquiry(std::span<const uint8_t> data) {
  if (data.size() < 5) {
    return absl::InvalidArgumentError(
        absl::StrFormat("standard INQUIRY data is %d bytes, needs 36", data.size()));
  }
  // What the target says it has, bounded by what we got.
  const size_t claimed = size_t{5} + data[4];
  const size_t usable = std::min(claimed, data.size());
  if (usable < kStandardInquiryMin) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "standard INQUIRY data has %d usable bytes (ADDITIONAL LENGTH %d, received %d), needs 36",
        usable, data[4], data.size()));
  }
  StandardInquiry out;
  out.peripheral_qualifier = data[0] >> 5;
  out.device_type = data[0] & 0x1f;
  out.removable = (data[1] & 0x80) != 0;
  out.version = data[2];
  out.hisup = (data[3] & 0x10) != 0;
  out.response_data_format = data[3] & 0x0f;
  out.tpgs = (data[5] >> 4) & 0x03;
  out.protect = (data[5] & 0x01) != 0;
  out.cmdque = (data[7] & 0x02) != 0;
  out.vendor = Trimmed(data.subspan(8, 8));
  out.product = Trimmed(data.subspan(16, 16));
  out.revision = Trimmed(data.subspan(32, 4));
  return out;
}

absl::StatusOr<size_t> VpdRequiredLength(std::span<const uint8_t> data) {
  if (data.size() < kVpdHeader) {
    return absl::InvalidArgumentError(
        absl::StrFormat("VPD answer is %d bytes, shorter than its 4-byte header", data.size()));
  }
  return kVpdHeader + LoadBe16(&data[2]);
}

absl::StatusOr<std::vector<uint8_t>> DecodeSupportedVpdPages(std::span<const uint8_t> data) {
  absl::StatusOr<std::span<const uint8_t>> page = VpdPage(data, vpd::kSupportedPages);
  if (!page.ok()) {
    return page.status();
  }
  std::span<const uint8_t> list = page->subspan(kVpdHeader);
  return std::vector<uint8_t>(list.begin(), list.end());
}

absl::StatusOr<std::string> DecodeUnitSerialNumber(std::span<const uint8_t> data) {
  absl::StatusOr<std::span<const uint8_t>> page = VpdPage(data, vpd::kUnitSerialNumber);
  if (!page.ok()) {
    return page.status();
  }
  return Trimmed(page->subspan(kVpdHeader));
}

absl::StatusOr<DeviceIdentification> DecodeDeviceIdentification(std::span<const uint8_t> data) {
  absl::StatusOr<std::span<const uint8_t>> page = VpdPage(data, vpd::kDeviceIdentification);
  if (!page.ok()) {
    return page.status();
  }
  DeviceIdentification out;
  size_t pos = kVpdHeader;
  const size_t end = page->size();
  while (pos < end) {
    if (end - pos < 4) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "VPD 0x83: %d trailing bytes at offset %d are too short for a designator header",
          end - pos, pos));
    }
    const uint8_t* h = page->data() + pos;
    const size_t length = h[3];
    if (length > end - pos - 4) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "VPD 0x83: designator at offset %d claims %d bytes, only %d remain in the page", pos,
          length, end - pos - 4));
    }
    Designator d;
    d.protocol_identifier = h[0] >> 4;
    d.code_set = h[0] & 0x0f;
    d.piv = (h[1] & 0x80) != 0;
    d.association = (h[1] >> 4) & 0x03;
    d.designator_type = h[1] & 0x0f;
    d.value.assign(h + 4, h + 4 + length);
    out.designators.push_back(std::move(d));
    pos += 4 + length;
  }
  return out;
}

std::optional<std::string> DeviceIdentification::Wwn() const {
  const Designator* best = nullptr;
  int best_rank = -1;
  for (const Designator& d : designators) {
    const int rank = WwnRank(d);
    if (rank >= 0 && (best == nullptr || rank < best_rank)) {
      best = &d;
      best_rank = rank;
    }
  }
  if (best == nullptr) {
    return std::nullopt;
  }
  switch (static_cast<DesignatorType>(best->designator_type)) {
    case DesignatorType::kNaa:
      return "naa." + Hex(best->value);
    case DesignatorType::kEui64:
      return "eui." + Hex(best->value);
    default:
      return "t10." + Trimmed(best->value);
  }
}

absl::StatusOr<BlockLimits> DecodeBlockLimits(std::span<const uint8_t> data) {
  absl::StatusOr<std::span<const uint8_t>> page = VpdPage(data, vpd::kBlockLimits);
  if (!page.ok()) {
    return page.status();
  }
  const std::span<const uint8_t> p = *page;
  constexpr size_t kSbc2Length = 16;
  if (p.size() < kSbc2Length) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "VPD 0xB0 page length %d is below the 12 bytes SBC requires", p.size() - kVpdHeader));
  }
  // Reads a field only when PAGE LENGTH covers it; absent fields stay 0.
  auto has = [&p](size_t offset, size_t width) { return offset + width <= p.size(); };
  BlockLimits out;
  out.wsnz = (p[4] & 0x01) != 0;
  out.max_compare_and_write_length = p[5];
  out.optimal_transfer_length_granularity = LoadBe16(&p[6]);
  out.max_transfer_length = LoadBe32(&p[8]);
  out.optimal_transfer_length = LoadBe32(&p[12]);
  if (has(16, 4)) {
    out.max_prefetch_length = LoadBe32(&p[16]);
  }
  if (has(20, 4)) {
    out.max_unmap_lba_count = LoadBe32(&p[20]);
  }
  if (has(24, 4)) {
    out.max_unmap_block_descriptor_count = LoadBe32(&p[24]);
  }
  if (has(28, 4)) {
    out.optimal_unmap_granularity = LoadBe32(&p[28]);
  }
  if (has(32, 4)) {
    const uint32_t v = LoadBe32(&p[32]);
    out.unmap_granularity_alignment_valid = (v & 0x80000000u) != 0;
    out.unmap_granularity_alignment = v & 0x7fffffffu;
  }
  if (has(36, 8)) {
    out.max_write_same_length = LoadBe64(&p[36]);
  }
  return out;
}

absl::StatusOr<LogicalBlockProvisioning> DecodeLogicalBlockProvisioning(
    std::span<const uint8_t> data) {
  absl::StatusOr<std::span<const uint8_t>> page = VpdPage(data, vpd::kLogicalBlockProvisioning);
  if (!page.ok()) {
    return page.status();
  }
  const std::span<const uint8_t> p = *page;
  if (p.size() < 8) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "VPD 0xB2 page length %d is below the 4 bytes SBC requires", p.size() - kVpdHeader));
  }
  LogicalBlockProvisioning out;
  out.threshold_exponent = p[4];
  out.lbpu = (p[5] & 0x80) != 0;
  out.lbpws = (p[5] & 0x40) != 0;
  out.lbpws10 = (p[5] & 0x20) != 0;
  out.lbprz = (p[5] >> 2) & 0x07;
  out.anc_sup = (p[5] & 0x02) != 0;
  out.dp = (p[5] & 0x01) != 0;
  out.provisioning_type = p[6] & 0x07;
  return out;
}

}  // namespace isergw::scsi
