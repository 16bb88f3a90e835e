#include "iser_client/transport/iser_header.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace isergw::iscsi {
namespace {

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void EncodeIserHeader(const IserHeader& header, std::span<uint8_t, kIserHeaderSize> out) {
  uint8_t* p = out.data();
  p[0] = header.flags;
  p[1] = p[2] = p[3] = 0;
  Put32(p + 4, header.write_stag);
  Put64(p + 8, header.write_va);
  Put32(p + 16, header.read_stag);
  Put64(p + 20, header.read_va);
}

absl::StatusOr<IserHeader> DecodeIserHeader(std::span<const uint8_t> message) {
  if (message.size() < kIserHeaderSize) {
    return absl::DataLossError(
        absl::StrFormat("iSER message of %u bytes is shorter than the %u-byte iSER header",
                        message.size(), kIserHeaderSize));
  }
  const uint8_t* p = message.data();
  IserHeader h;
  h.flags = p[0];
  if ((h.flags & kIserTypeMask) != kIserTypeControl) {
    return absl::DataLossError(
        absl::StrFormat("iSER message type 0x%02x is not an iSCSI control PDU", h.flags >> 4));
  }
  h.write_stag = Get32(p + 4);
  h.write_va = Get64(p + 8);
  h.read_stag = Get32(p + 16);
  h.read_va = Get64(p + 20);
  return h;
}

void EncodeIserCmPrivateData(uint8_t flags, std::span<uint8_t, kIserCmPrivateDataSize> out) {
  out[0] = flags;
  out[1] = out[2] = out[3] = 0;
}

}  // namespace isergw::iscsi
