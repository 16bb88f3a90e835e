// libFuzzer target for the PDU framer and every BHS decoder.
// Input byte 0 selects the framing options; the rest is the TCP stream.
#include <cstddef>
#include <cstdint>
#include <span>

#include "iser_client/pdu/bhs.h"
#include "iser_client/pdu/pdu_framer.h"

namespace {

using namespace isergw::iscsi;  // NOLINT(build/namespaces): fuzz harness

template <typename Decoder>
void DecodeAndReencode(Decoder decode, ConstBhsBytes bhs) {
  auto header = decode(bhs);
  if (!header.ok()) return;
  // A decoded header must encode and decode to the same value.
  uint8_t out[kBhsSize];
  Encode(*header, std::span<uint8_t, kBhsSize>(out));
  auto again = decode(std::span<const uint8_t, kBhsSize>(out));
  if (!again.ok() || !(*again == *header)) __builtin_trap();
}

void DecodeWithEveryDecoder(ConstBhsBytes bhs) {
  DecodeAndReencode(DecodeNopOut, bhs);
  DecodeAndReencode(DecodeScsiCommand, bhs);
  DecodeAndReencode(DecodeTaskMgmtRequest, bhs);
  DecodeAndReencode(DecodeLoginRequest, bhs);
  DecodeAndReencode(DecodeTextRequest, bhs);
  DecodeAndReencode(DecodeDataOut, bhs);
  DecodeAndReencode(DecodeLogoutRequest, bhs);
  DecodeAndReencode(DecodeSnack, bhs);
  DecodeAndReencode(DecodeNopIn, bhs);
  DecodeAndReencode(DecodeScsiResponse, bhs);
  DecodeAndReencode(DecodeTaskMgmtResponse, bhs);
  DecodeAndReencode(DecodeLoginResponse, bhs);
  DecodeAndReencode(DecodeTextResponse, bhs);
  DecodeAndReencode(DecodeDataIn, bhs);
  DecodeAndReencode(DecodeLogoutResponse, bhs);
  DecodeAndReencode(DecodeR2t, bhs);
  DecodeAndReencode(DecodeAsyncMessage, bhs);
  DecodeAndReencode(DecodeReject, bhs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t options = data[0];
  FramingLimits limits{
      .header_digest = (options & 1) != 0,
      .data_digest = (options & 2) != 0,
      .max_recv_data_segment_length = (options & 4) != 0 ? 512u : 262144u,
      .sender = (options & 8) != 0 ? PduSender::kInitiator : PduSender::kTarget,
  };
  std::span<const uint8_t> stream(data + 1, size - 1);
  // Frame PDUs one after another, as the receive path does.
  while (true) {
    size_t needed = 0;
    auto framed = TryFrame(stream, limits, &needed);
    if (!framed.ok()) break;
    if (!framed->has_value()) {
      if (needed <= stream.size()) __builtin_trap();  // must ask for more than it has
      break;
    }
    const PduView& pdu = **framed;
    if (pdu.wire_length > stream.size() || pdu.wire_length < kBhsSize) __builtin_trap();
    DecodeWithEveryDecoder(pdu.bhs);
    stream = stream.subspan(pdu.wire_length);
  }
  // Decoders must cope with any 48 bytes, framed or not.
  if (size >= 1 + kBhsSize)
    DecodeWithEveryDecoder(std::span<const uint8_t, kBhsSize>(data + 1, kBhsSize));
  return 0;
}
