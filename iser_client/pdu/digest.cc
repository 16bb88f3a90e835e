#include "iser_client/pdu/digest.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

#include "iser_client/pdu/padding.h"

namespace isergw::iscsi {
namespace {

// ISA-L's crc32_iscsi is the raw reflected CRC32C update: it neither presets
// nor complements, so the builder keeps the register and inverts in Finish().
// Its length is an int, hence the chunking.
uint32_t Extend(uint32_t state, const uint8_t* p, size_t n) {
  constexpr size_t kChunk = size_t{1} << 30;
  while (n > 0) {
    const size_t len = std::min(n, kChunk);
    // crc32_iscsi takes a non-const pointer but does not write through it.
    state = crc32_iscsi(const_cast<uint8_t*>(p), static_cast<int>(len), state);
    p += len;
    n -= len;
  }
  return state;
}

}  // namespace

Crc32cBuilder& Crc32cBuilder::Update(std::span<const uint8_t> bytes) {
  state_ = Extend(state_, bytes.data(), bytes.size());
  return *this;
}

Crc32cBuilder& Crc32cBuilder::UpdateZeros(size_t count) {
  static constexpr uint8_t kZeros[64] = {};
  while (count > 0) {
    const size_t len = std::min(count, sizeof(kZeros));
    state_ = Extend(state_, kZeros, len);
    count -= len;
  }
  return *this;
}

uint32_t Crc32c(std::span<const uint8_t> bytes) { return Crc32cBuilder().Update(bytes).Finish(); }

uint32_t DataDigest(std::span<const uint8_t> data) {
  return Crc32cBuilder().Update(data).UpdateZeros(PadLength(data.size())).Finish();
}

}  // namespace isergw::iscsi
