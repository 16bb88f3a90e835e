// Decoding the driver's per-tag I/O descriptor into an IoRequest, and the
// results that go back: bytes on success, an errno the block layer maps to
// the right blk_status_t (errno_to_blk_status) on failure.
#ifndef UBLK_IO_REQUEST_H_
#define UBLK_IO_REQUEST_H_

#include <cstdint>

#include "absl/status/status.h"
#include "ublk/backend.h"
#include "ublk/uapi.h"

namespace isergw::ublk {

// Fills `out` from `desc` (a copy of the shared descriptor, which the
// driver owns). Checks the operation is one the device offers, the range
// lies inside `geometry`'s capacity and a READ/WRITE fits `buffer_bytes`.
// Errors say what was wrong; the queue answers them with
// ErrnoFor(status).
absl::Status DecodeIoDesc(const ublksrv_io_desc& desc, uint16_t tag, void* buffer,
                          uint32_t buffer_bytes, const Geometry& geometry, IoRequest* out);

// The result a successful request commits: READ/WRITE the bytes moved
// (the driver fails a zero-byte read and requeues a short one), others 0.
int32_t SuccessResult(const IoRequest& io);

// The negative errno for a backend status:
//   OK                                 0
//   Unimplemented                      -EOPNOTSUPP  (BLK_STS_NOTSUPP)
//   ResourceExhausted                  -ENOSPC      (BLK_STS_NOSPC: thin pool full)
//   DeadlineExceeded                   -ETIMEDOUT   (BLK_STS_TIMEOUT)
//   Unavailable                        -ENOLINK     (BLK_STS_TRANSPORT: path down)
//   DataLoss                           -ENODATA     (BLK_STS_MEDIUM: unreadable block)
//   PermissionDenied, FailedPrecondition -EREMOTEIO (BLK_STS_TARGET: target refused)
//   OutOfRange                         -EIO         (a request past the end)
//   anything else                      -EIO         (BLK_STS_IOERR)
int32_t ErrnoFor(const absl::Status& status);

// Name of a ublk op for messages ("read", "write_zeroes").
const char* IoOpName(IoOp op);

}  // namespace isergw::ublk

#endif  // UBLK_IO_REQUEST_H_
