#include "nbd/request.h"

#include "nbd/protocol.h"

namespace isergw::nbd {
namespace {

RequestVerdict Reject(uint32_t error, const char* why, uint32_t payload_bytes = 0) {
  RequestVerdict v;
  v.action = RequestAction::kReject;
  v.error = error;
  v.why = why;
  v.payload_bytes = payload_bytes;
  return v;
}

RequestVerdict Accept(RequestAction action, uint32_t payload_bytes = 0) {
  RequestVerdict v;
  v.action = action;
  v.payload_bytes = payload_bytes;
  return v;
}

}  // namespace

RequestVerdict CheckRequest(const RequestHeader& h, const ExportLimits& limits) {
  const uint16_t tx = limits.transmission_flags;
  const bool read_only = (tx & kTxReadOnly) != 0;
  const uint32_t write_payload = h.type == kCmdWrite ? h.length : 0;

  if (h.type == kCmdWrite && h.length > limits.max_block) {
    // Its payload would have to be read and thrown away; a client that
    // ignores the advertised maximum is not worth that.
    RequestVerdict v;
    v.action = RequestAction::kDropClient;
    v.why = "WRITE longer than the maximum block size";
    return v;
  }

  uint16_t allowed_flags = 0;
  switch (h.type) {
    case kCmdRead:
      allowed_flags = limits.structured_replies ? kCmdFlagDf : 0;
      break;
    case kCmdWrite:
    case kCmdTrim:
      allowed_flags = (tx & kTxSendFua) ? kCmdFlagFua : 0;
      break;
    case kCmdWriteZeroes:
      allowed_flags = kCmdFlagNoHole | ((tx & kTxSendFua) ? kCmdFlagFua : 0);
      break;
    case kCmdFlush:
    case kCmdCache:
    case kCmdDisc:
      break;
    default:
      return Reject(kEinval, "unknown command");
  }
  if ((h.flags & ~allowed_flags) != 0) {
    return Reject(kEinval, "flag not valid here", write_payload);
  }

  if (h.type == kCmdDisc) {
    return Accept(RequestAction::kDisconnect);
  }
  if (h.type == kCmdFlush) {
    return Accept(RequestAction::kFlush);
  }
  if (h.type == kCmdTrim && (tx & kTxSendTrim) == 0) {
    return Reject(kEinval, "TRIM not offered");
  }
  if (h.type == kCmdWriteZeroes && (tx & kTxSendWriteZeroes) == 0) {
    return Reject(kEinval, "WRITE_ZEROES not offered");
  }

  if (h.length == 0) {
    return Reject(kEinval, "zero length", write_payload);
  }
  if (limits.min_block > 1 &&
      (h.offset % limits.min_block != 0 || h.length % limits.min_block != 0)) {
    return Reject(kEinval, "not aligned to the minimum block size", write_payload);
  }
  const bool past_end = h.offset > limits.size || h.length > limits.size - h.offset;
  const bool writes = h.type == kCmdWrite || h.type == kCmdTrim || h.type == kCmdWriteZeroes;
  if (writes && read_only) {
    return Reject(kEperm, "export is read-only", write_payload);
  }
  if (past_end) {
    return Reject(writes ? kEnospc : kEinval, "past the end of the export", write_payload);
  }
  switch (h.type) {
    case kCmdRead:
      if (h.length > limits.max_block) {
        return Reject(limits.structured_replies ? kEoverflow : kEinval,
                      "READ longer than the maximum block size");
      }
      return Accept(RequestAction::kRead);
    case kCmdWrite:
      return Accept(RequestAction::kWrite, h.length);
    case kCmdTrim:
      return Accept(RequestAction::kTrim);
    case kCmdWriteZeroes:
      return Accept(RequestAction::kWriteZeroes);
    default:
      return Accept(RequestAction::kCache);
  }
}

}  // namespace isergw::nbd
