// Encoding and decoding NBD's fixed-size wire structures. Decoders take a
// span and never read past it; encoders write into caller-provided arrays
// (no allocation), so the data path can use them per request.
#ifndef NBD_CODEC_H_
#define NBD_CODEC_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "nbd/protocol.h"

namespace isergw::nbd {

inline void PutBe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void PutBe32(uint8_t* p, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) {
    p[i] = static_cast<uint8_t>(v);
  }
}
inline void PutBe64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) {
    p[i] = static_cast<uint8_t>(v);
  }
}
inline uint16_t GetBe16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t GetBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t GetBe64(const uint8_t* p) { return uint64_t{GetBe32(p)} << 32 | GetBe32(p + 4); }

// A transmission request header (28 bytes).
struct RequestHeader {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t cookie = 0;  // the spec's "handle": opaque, echoed in the reply
  uint64_t offset = 0;
  uint32_t length = 0;
};

// Decodes the first kRequestHeaderBytes of `bytes`. InvalidArgument if it is
// shorter or the magic is wrong (the stream cannot be resynchronised then).
absl::StatusOr<RequestHeader> DecodeRequestHeader(absl::Span<const uint8_t> bytes);
void EncodeRequestHeader(const RequestHeader& header, uint8_t out[kRequestHeaderBytes]);

// A simple reply: magic, error, cookie (16 bytes).
void EncodeSimpleReply(uint32_t error, uint64_t cookie, uint8_t out[kSimpleReplyBytes]);

// A structured reply chunk header (20 bytes); `payload_length` counts what
// follows it.
void EncodeStructuredHeader(uint16_t flags, uint16_t type, uint64_t cookie, uint32_t payload_length,
                            uint8_t out[kStructuredHeaderBytes]);

// Option reply header (20 bytes): magic, option, reply type, length.
inline constexpr size_t kOptionReplyHeaderBytes = 20;
void EncodeOptionReplyHeader(uint32_t option, uint32_t reply_type, uint32_t length,
                             uint8_t out[kOptionReplyHeaderBytes]);

// The NBD error number for a backend result (a negative errno).
uint32_t NbdErrorForErrno(int32_t negative_errno);

const char* CommandName(uint16_t type);
const char* OptionName(uint32_t option);

}  // namespace isergw::nbd

#endif  // NBD_CODEC_H_
