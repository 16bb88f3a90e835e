#include "ublk/io_request.h"

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace isergw::ublk {

absl::Status DecodeIoDesc(const ublksrv_io_desc& desc, uint16_t tag, void* buffer,
                          uint32_t buffer_bytes, const Geometry& geometry, IoRequest* out) {
  const uint32_t op = desc.op_flags & 0xff;
  const uint32_t flags = desc.op_flags >> 8 << 8;
  IoRequest io;
  io.tag = tag;
  switch (op) {
    case UBLK_IO_OP_READ:
      io.op = IoOp::kRead;
      break;
    case UBLK_IO_OP_WRITE:
      io.op = IoOp::kWrite;
      io.fua = (flags & UBLK_IO_F_FUA) != 0;
      if (geometry.read_only) {
        return absl::PermissionDeniedError("write to a read-only device");
      }
      break;
    case UBLK_IO_OP_FLUSH:
      io.op = IoOp::kFlush;
      *out = io;
      return absl::OkStatus();
    case UBLK_IO_OP_DISCARD:
      if (geometry.discard_granularity == 0) {
        return absl::UnimplementedError("discard is not supported by this backend");
      }
      io.op = IoOp::kDiscard;
      break;
    case UBLK_IO_OP_WRITE_ZEROES:
      if (geometry.max_write_zeroes_bytes == 0) {
        return absl::UnimplementedError("write-zeroes is not supported by this backend");
      }
      io.op = IoOp::kWriteZeroes;
      io.no_unmap = (flags & UBLK_IO_F_NOUNMAP) != 0;
      break;
    default:
      return absl::UnimplementedError(absl::StrCat("ublk operation ", op, " is not supported"));
  }
  const uint64_t capacity_sectors = geometry.capacity_bytes >> 9;
  if (desc.nr_sectors == 0) {
    return absl::InvalidArgumentError(absl::StrCat(IoOpName(io.op), " of zero sectors"));
  }
  if (desc.start_sector > capacity_sectors ||
      desc.nr_sectors > capacity_sectors - desc.start_sector) {
    return absl::OutOfRangeError(absl::StrCat(IoOpName(io.op), " of ", desc.nr_sectors,
                                              " sectors at ", desc.start_sector,
                                              " passes the end (", capacity_sectors, ")"));
  }
  const uint64_t bytes = uint64_t{desc.nr_sectors} << 9;
  if (io.op == IoOp::kRead || io.op == IoOp::kWrite) {
    if (bytes > buffer_bytes) {
      return absl::OutOfRangeError(absl::StrCat(
          IoOpName(io.op), " of ", bytes, " bytes exceeds the tag buffer (", buffer_bytes, ")"));
    }
    io.buffer = buffer;
  }
  if (bytes > UINT32_MAX) {
    return absl::OutOfRangeError(absl::StrCat(IoOpName(io.op), " of ", bytes, " bytes"));
  }
  io.offset = desc.start_sector << 9;
  io.length = static_cast<uint32_t>(bytes);
  *out = io;
  return absl::OkStatus();
}

int32_t SuccessResult(const IoRequest& io) {
  return io.op == IoOp::kRead || io.op == IoOp::kWrite ? static_cast<int32_t>(io.length) : 0;
}

int32_t ErrnoFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kUnimplemented:
      return -EOPNOTSUPP;
    case absl::StatusCode::kResourceExhausted:
      return -ENOSPC;
    case absl::StatusCode::kDeadlineExceeded:
      return -ETIMEDOUT;
    case absl::StatusCode::kUnavailable:
      return -ENOLINK;
    case absl::StatusCode::kDataLoss:
      return -ENODATA;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kFailedPrecondition:
      return -EREMOTEIO;
    default:
      return -EIO;
  }
}

const char* IoOpName(IoOp op) {
  switch (op) {
    case IoOp::kRead:
      return "read";
    case IoOp::kWrite:
      return "write";
    case IoOp::kFlush:
      return "flush";
    case IoOp::kDiscard:
      return "discard";
    case IoOp::kWriteZeroes:
      return "write_zeroes";
  }
  return "unknown";
}

}  // namespace isergw::ublk
