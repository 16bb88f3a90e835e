#include "nbd/codec.h"

#include <cerrno>

#include "absl/strings/str_format.h"

namespace isergw::nbd {

absl::StatusOr<RequestHeader> DecodeRequestHeader(absl::Span<const uint8_t> bytes) {
  if (bytes.size() < kRequestHeaderBytes) {
    return absl::InvalidArgumentError(absl::StrFormat("NBD request header needs %d bytes, got %d",
                                                      kRequestHeaderBytes, bytes.size()));
  }
  const uint8_t* p = bytes.data();
  const uint32_t magic = GetBe32(p);
  if (magic != kRequestMagic) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bad NBD request magic 0x%08x (want 0x%08x)", magic, kRequestMagic));
  }
  RequestHeader h;
  h.flags = GetBe16(p + 4);
  h.type = GetBe16(p + 6);
  h.cookie = GetBe64(p + 8);
  h.offset = GetBe64(p + 16);
  h.length = GetBe32(p + 24);
  return h;
}

void EncodeRequestHeader(const RequestHeader& header, uint8_t out[kRequestHeaderBytes]) {
  PutBe32(out, kRequestMagic);
  PutBe16(out + 4, header.flags);
  PutBe16(out + 6, header.type);
  PutBe64(out + 8, header.cookie);
  PutBe64(out + 16, header.offset);
  PutBe32(out + 24, header.length);
}

void EncodeSimpleReply(uint32_t error, uint64_t cookie, uint8_t out[kSimpleReplyBytes]) {
  PutBe32(out, kSimpleReplyMagic);
  PutBe32(out + 4, error);
  PutBe64(out + 8, cookie);
}

void EncodeStructuredHeader(uint16_t flags, uint16_t type, uint64_t cookie, uint32_t payload_length,
                            uint8_t out[kStructuredHeaderBytes]) {
  PutBe32(out, kStructuredReplyMagic);
  PutBe16(out + 4, flags);
  PutBe16(out + 6, type);
  PutBe64(out + 8, cookie);
  PutBe32(out + 16, payload_length);
}

void EncodeOptionReplyHeader(uint32_t option, uint32_t reply_type, uint32_t length,
                             uint8_t out[kOptionReplyHeaderBytes]) {
  PutBe64(out, kOptReplyMagic);
  PutBe32(out + 8, option);
  PutBe32(out + 12, reply_type);
  PutBe32(out + 16, length);
}

uint32_t NbdErrorForErrno(int32_t negative_errno) {
  switch (-negative_errno) {
    case 0:
      return 0;
    case EPERM:
    case EACCES:
    case EROFS:
      return kEperm;
    case ENOMEM:
      return kEnomem;
    case EINVAL:
      return kEinval;
    case ENOSPC:
    case EDQUOT:
      return kEnospc;
    case EOVERFLOW:
      return kEoverflow;
    case EOPNOTSUPP:
      return kEnotsup;
    case ESHUTDOWN:
      return kEshutdown;
    default:
      return kEio;
  }
}

const char* CommandName(uint16_t type) {
  switch (type) {
    case kCmdRead:
      return "READ";
    case kCmdWrite:
      return "WRITE";
    case kCmdDisc:
      return "DISC";
    case kCmdFlush:
      return "FLUSH";
    case kCmdTrim:
      return "TRIM";
    case kCmdCache:
      return "CACHE";
    case kCmdWriteZeroes:
      return "WRITE_ZEROES";
    default:
      return "unknown";
  }
}

const char* OptionName(uint32_t option) {
  switch (option) {
    case kOptExportName:
      return "EXPORT_NAME";
    case kOptAbort:
      return "ABORT";
    case kOptList:
      return "LIST";
    case kOptStartTls:
      return "STARTTLS";
    case kOptInfo:
      return "INFO";
    case kOptGo:
      return "GO";
    case kOptStructuredReply:
      return "STRUCTURED_REPLY";
    case kOptListMetaContext:
      return "LIST_META_CONTEXT";
    case kOptSetMetaContext:
      return "SET_META_CONTEXT";
    default:
      return "unknown";
  }
}

}  // namespace isergw::nbd
