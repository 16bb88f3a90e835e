// Checking a transmission request against the export before anything is
// done with it: a pure function, so hostile input is handled in one place
// (and fuzzed). The connection acts on the verdict.
#ifndef NBD_REQUEST_H_
#define NBD_REQUEST_H_

#include <cstdint>

#include "nbd/codec.h"

namespace isergw::nbd {

// What the export allows, as negotiated.
struct ExportLimits {
  uint64_t size = 0;
  uint32_t min_block = 1;  // offsets and lengths are multiples of this
  uint32_t max_block = 0;  // largest READ/WRITE payload
  uint16_t transmission_flags = 0;
  bool structured_replies = false;
};

enum class RequestAction : uint8_t {
  kRead,
  kWrite,
  kFlush,
  kTrim,
  kWriteZeroes,
  kCache,
  kDisconnect,
  kReject,      // reply `error` (after reading `payload_bytes` and dropping them)
  kDropClient,  // the stream cannot be followed any further: close
};

struct RequestVerdict {
  RequestAction action = RequestAction::kReject;
  uint32_t error = 0;          // NBD error for kReject
  uint32_t payload_bytes = 0;  // bytes following the header (WRITE only)
  const char* why = "";        // for logs: what was wrong
};

RequestVerdict CheckRequest(const RequestHeader& header, const ExportLimits& limits);

}  // namespace isergw::nbd

#endif  // NBD_REQUEST_H_
