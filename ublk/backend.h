// What a ublk device serves: the Backend interface (like ublksrv's
// ublksrv_tgt_type, but split by thread). A backend turns block requests
// into reads and writes of something (RAM, a file, an iSCSI LUN).
//
// Threads:
//   Backend        control thread (the one that creates and stops the Device)
//   QueueBackend   its queue's thread only; one per hardware queue, nothing
//                  shared between queues unless the backend shares it
#ifndef UBLK_BACKEND_H_
#define UBLK_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::ublk {

// The volume's shape and limits; they become the device's ublk parameters
// and so the block layer's queue limits. Sizes are in bytes.
struct Geometry {
  uint64_t capacity_bytes = 0;         // > 0, a multiple of logical_block_size
  uint32_t logical_block_size = 512;   // power of two, 512..4096
  uint32_t physical_block_size = 0;    // power of two >= logical; 0: same as logical
  uint32_t max_io_bytes = 512 * 1024;  // largest READ/WRITE; a multiple of 4096
  // The I/O sizes the volume prefers (SCSI's optimal transfer length and its
  // granularity); 0: the physical block size. Rounded down to powers of two.
  uint32_t min_io_bytes = 0;
  uint32_t optimal_io_bytes = 0;
  // Discard: 0 granularity means no DISCARD. Limits are per request.
  uint32_t discard_granularity = 0;
  uint32_t max_discard_bytes = 0;
  // WRITE_ZEROES: 0 means not supported.
  uint32_t max_write_zeroes_bytes = 0;
  // A volatile cache means writes may sit in a cache until FLUSH; the block
  // layer then sends FLUSH and FUA, which the backend must honour.
  bool volatile_cache = false;
  bool fua = false;
  bool read_only = false;
  bool rotational = false;
};

enum class IoOp : uint8_t { kRead, kWrite, kFlush, kDiscard, kWriteZeroes };

// One block request, decoded from the driver's descriptor. It lives in the
// queue's tag slot (no allocation) and stays valid until it is completed.
struct IoRequest {
  IoOp op = IoOp::kRead;
  bool fua = false;       // kWrite: durable before completion
  bool no_unmap = false;  // kWriteZeroes: keep the blocks allocated
  uint16_t tag = 0;
  uint64_t offset = 0;     // bytes; 0 for kFlush
  uint32_t length = 0;     // bytes; 0 for kFlush
  void* buffer = nullptr;  // the tag's buffer: kRead fills it, kWrite reads it
};

// How a queue backend reports back. Called on the queue's thread only.
class QueueSink {
 public:
  // Finishes the request of `tag`: `result` is the number of bytes
  // transferred (READ/WRITE; other ops 0) or a negative errno (see
  // io_result.h for the errno the block layer understands).
  virtual void CompleteIo(uint16_t tag, int32_t result) = 0;

  // The backend can no longer serve I/O (connection lost for good, file
  // gone). The device is then stopped and deleted. The backend must still
  // complete every request it accepted (with an error if need be); requests
  // that arrive afterwards are failed by the queue without reaching it.
  virtual void FailQueue(absl::Status why) = 0;

 protected:
  ~QueueSink() = default;
};

// What a queue backend gets when it is opened.
struct QueueContext {
  uint16_t queue_id = 0;
  uint16_t depth = 0;         // tags 0..depth-1
  uint32_t buffer_bytes = 0;  // size of each tag's buffer
  // The queue thread's loop: the backend submits its own SQEs (file I/O,
  // sockets, RDMA completion channels) here and is called back in the loop.
  uring::EventLoop* loop = nullptr;
  QueueSink* sink = nullptr;
};

// The per-queue half of a backend. Every method runs on the queue's thread.
class QueueBackend {
 public:
  virtual ~QueueBackend() = default;

  // The buffer the driver copies `tag`'s data to and from: at least
  // QueueContext::buffer_bytes long, page aligned, valid until the queue
  // backend is destroyed. nullptr: the queue allocates one (page-aligned
  // anonymous memory). Asked once per tag, before the first fetch. An iSER
  // backend answers with slices of its RDMA-registered memory.
  virtual void* TagBuffer(uint16_t tag) {
    (void)tag;
    return nullptr;
  }

  // Starts `io`; completes it through QueueSink::CompleteIo later (from the
  // event loop) or right away. Must not block. The request and its buffer
  // belong to the backend until it completes them.
  virtual void Submit(const IoRequest& io) = 0;
};

// The device-wide half. Geometry and Flush are called on the control thread;
// OpenQueue on the new queue's thread, before that queue fetches anything.
class Backend {
 public:
  virtual ~Backend() = default;

  virtual const Geometry& geometry() const = 0;

  virtual absl::StatusOr<std::unique_ptr<QueueBackend>> OpenQueue(const QueueContext& context) = 0;

  // Makes everything written so far durable. Called once every queue has
  // stopped, before the device is deleted.
  virtual absl::Status Flush() = 0;

  // For messages: "file /srv/disk.img", "RAM 1 GiB".
  virtual std::string Describe() const = 0;

  // The longest the backend may keep a request before it answers (an
  // iSCSI outage up to the replacement timeout, a command's aborts and
  // retries); zero for backends that answer as fast as their storage. A
  // frontend's kernel timeout must outlast it.
  virtual absl::Duration LongestRequestHold() const { return absl::ZeroDuration(); }
};

}  // namespace isergw::ublk

#endif  // UBLK_BACKEND_H_
