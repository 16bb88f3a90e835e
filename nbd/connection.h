// One NBD client connection, served on one thread's io_uring: the handshake,
// then requests read from the socket (write payloads straight into the
// backend's tag buffers), handed to a QueueBackend of its own, and replies
// gathered into one sendmsg per loop pass. Everything is preallocated when
// the connection starts: slots, buffers, iovecs; nothing per request.
//
// Ends when the client disconnects (DISC or EOF), breaks the protocol in a
// way that cannot be followed (bad magic, oversized WRITE), misses the
// handshake deadline, or the socket is shut down from outside (server
// stop). Requests already with the backend are always completed first.
#ifndef NBD_CONNECTION_H_
#define NBD_CONNECTION_H_

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "iser_client/uring/event_loop.h"
#include "nbd/handshake.h"
#include "nbd/request.h"
#include "ublk/backend.h"
#include "ublk/tag_buffers.h"

namespace isergw::nbd {

struct ConnectionOptions {
  uint16_t queue_id = 0;
  uint16_t depth = 64;  // requests in flight; more wait in the socket
  absl::Duration handshake_timeout = absl::Seconds(10);
  // The socket was handed over after a handshake done elsewhere (the
  // kernel's NBD client): requests from the first byte, simple replies.
  bool skip_handshake = false;
};

// The export as served: what the handshake shows, derived from a geometry.
ExportInfo ExportInfoFor(const ublk::Geometry& geometry, const std::string& name,
                         const std::string& description);

class Connection final : public ublk::QueueSink, public uring::PassHook, public uring::Timer {
 public:
  // `fd` is a connected stream socket; it stays owned by the caller (who
  // closes it after the connection is destroyed). `backend` and
  // `export_info` outlive the connection.
  Connection(int fd, uring::EventLoop* loop, ublk::Backend* backend, const ExportInfo* export_info,
             const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends the greeting; with skip_handshake opens the queue backend at once.
  absl::Status Start();

  // True when a client's GO / EXPORT_NAME chose the export and the queue
  // backend (an iSCSI login, say) must be opened: the owner then calls
  // OpenQueue from outside the loop's callbacks (it may run the loop
  // itself). Clients that only LIST, ask for INFO or fail the handshake
  // never cost a queue.
  bool wants_queue() const { return wants_queue_; }
  // Opens the queue backend and the request slots, then answers the GO
  // (or refuses it when the backend cannot open a queue).
  void OpenQueue();
  bool queue_open() const { return queue_ != nullptr; }

  // True once nothing is in flight any more and the connection has ended.
  bool finished() const { return finished_; }
  // OK for a clean end (DISC, EOF between requests, ABORT, server stop).
  const absl::Status& result() const { return result_; }

  uint64_t requests() const { return requests_; }

  // ublk::QueueSink
  void CompleteIo(uint16_t tag, int32_t result) override;
  void FailQueue(absl::Status why) override;

 private:
  struct Slot {
    RequestHeader header;
    RequestAction action = RequestAction::kRead;
    uint32_t error = 0;  // NBD error to reply; 0: success
    ublk::IoRequest io;
    void* buffer = nullptr;
    // TRIM / WRITE_ZEROES go to the backend in chunks it accepts, and FUA
    // on them becomes a FLUSH after the last chunk.
    uint64_t next_offset = 0;
    uint64_t end = 0;
    bool flush_after = false;
    bool flushing = false;
    // Backends may complete inside Submit; the result is then taken here
    // and acted on by the loop in Dispatch (no recursion).
    bool in_submit = false;
    bool inline_done = false;
    int32_t inline_result = 0;
    uint8_t reply[32];
    uint32_t reply_bytes = 0;
    uint32_t data_bytes = 0;
  };
  struct RecvOp final : uring::Completion {
    void OnComplete(int32_t res, uint32_t) override { owner->OnRecv(res); }
    Connection* owner = nullptr;
  };
  struct SendOp final : uring::Completion {
    void OnComplete(int32_t res, uint32_t) override { owner->OnSend(res); }
    Connection* owner = nullptr;
  };
  enum class Phase { kHandshake, kHeader, kPayload };

  // uring::PassHook: sends what is ready, one sendmsg per pass.
  void BeforeSubmit() override;
  // uring::Timer: the handshake deadline.
  void OnTimer() override;

  absl::Status OpenQueueAndSlots();
  void OnRecv(int32_t res);
  void OnSend(int32_t res);
  void Pump();
  bool PumpHandshake();
  void HandleHeader(const RequestHeader& header);
  void Execute(uint16_t tag);
  void Dispatch(uint16_t tag);
  bool Advance(Slot& slot, int32_t result);
  bool NextChunk(Slot& slot);
  void Finish(uint16_t tag);
  void Release(uint16_t tag);
  void PostRecv(void* at, size_t bytes);
  void StopReading(absl::Status why);
  void MaybeFinish();
  uint16_t SlotsInUse() const { return queue_ ? static_cast<uint16_t>(depth_ - free_count_) : 0; }

  int fd_;
  uring::EventLoop* loop_;
  ublk::Backend* backend_;
  const ExportInfo* export_;
  ConnectionOptions options_;
  uint16_t depth_;
  uint32_t buffer_bytes_ = 0;
  ExportLimits limits_;
  Handshake handshake_;
  std::unique_ptr<ublk::QueueBackend> queue_;
  ublk::TagBuffers own_buffers_;
  bool hooked_ = false;
  bool wants_queue_ = false;

  // Receiving: a staging area for headers and small payloads.
  std::unique_ptr<uint8_t[]> staging_;
  size_t staging_head_ = 0;
  size_t staging_tail_ = 0;
  Phase phase_ = Phase::kHandshake;
  uint16_t payload_tag_ = 0;
  uint32_t payload_got_ = 0;
  RecvOp recv_op_;
  bool recv_inflight_ = false;
  bool recv_direct_ = false;  // the pending recv targets a tag buffer
  bool reading_ = true;
  bool stalled_ = false;  // no free slot: parsing waits for one

  // Slots.
  std::vector<Slot> slots_;
  std::vector<uint16_t> free_;
  uint16_t free_count_ = 0;

  // Sending: handshake bytes, then replies in completion order.
  std::string handshake_out_;
  size_t handshake_sent_ = 0;
  std::vector<uint16_t> ready_;  // ring of tags with a reply to send
  uint16_t ready_head_ = 0;
  uint16_t ready_count_ = 0;
  uint32_t send_skip_ = 0;  // bytes of the first ready reply already sent
  std::vector<iovec> iov_;
  msghdr msg_{};
  SendOp send_op_;
  bool send_inflight_ = false;
  bool send_broken_ = false;

  // The backend answered WRITE_ZEROES with EOPNOTSUPP once: zeroes are
  // written as data from then on.
  bool zeroes_by_writing_ = false;

  bool finished_ = false;
  absl::Status result_;
  uint64_t requests_ = 0;
};

}  // namespace isergw::nbd

#endif  // NBD_CONNECTION_H_
