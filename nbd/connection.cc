#include "nbd/connection.h"

#include <glog/logging.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nbd/codec.h"
#include "nbd/protocol.h"

namespace isergw::nbd {
namespace {

// Headers and small WRITE payloads arrive here in bulk (many requests per
// recv); larger payloads go straight into their tag buffer. It also holds a
// whole handshake option (kMaxOptionBytes plus its header).
constexpr size_t kStagingBytes = size_t{64} * 1024;
static_assert(kStagingBytes >= kMaxOptionBytes + 16);
// Replies per sendmsg (two iovecs each).
constexpr uint16_t kMaxRepliesPerSend = 256;
// Largest READ/WRITE this server advertises, whatever the backend takes.
constexpr uint32_t kMaxBlockCap = 4u << 20;

}  // namespace

ExportInfo ExportInfoFor(const ublk::Geometry& g, const std::string& name,
                         const std::string& description) {
  ExportInfo info;
  info.name = name;
  info.description = description;
  info.size = g.capacity_bytes;
  info.min_block = g.logical_block_size;
  info.max_block = std::min(g.max_io_bytes, kMaxBlockCap);
  const uint32_t physical = std::max(g.physical_block_size, g.logical_block_size);
  info.preferred_block = std::min(std::max(physical, 4096u), info.max_block);
  // Every backend isergw has serves one store from all its queues and
  // flushes it as a whole (fdatasync, SYNCHRONIZE CACHE on the LU, RAM), so a
  // FLUSH on one connection covers writes completed on every other one:
  // multi-conn is safe. WRITE_ZEROES is emulated with writes where the
  // backend lacks it.
  info.transmission_flags =
      kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendWriteZeroes | kTxSendCache | kTxCanMultiConn;
  if (g.discard_granularity != 0) {
    info.transmission_flags |= kTxSendTrim;
  }
  if (g.read_only) {
    info.transmission_flags |= kTxReadOnly;
  }
  if (g.rotational) {
    info.transmission_flags |= kTxRotational;
  }
  return info;
}

Connection::Connection(int fd, uring::EventLoop* loop, ublk::Backend* backend,
                       const ExportInfo* export_info, const ConnectionOptions& options)
    : fd_(fd),
      loop_(loop),
      backend_(backend),
      export_(export_info),
      options_(options),
      depth_(std::max<uint16_t>(options.depth, 1)),
      handshake_(export_info, /*confirm_export=*/!options.skip_handshake) {
  recv_op_.owner = this;
  send_op_.owner = this;
}

Connection::~Connection() {
  if (armed()) {
    loop_->CancelTimer(this);
  }
  if (hooked_) {
    loop_->RemovePassHook(this);
  }
  LOG_IF(ERROR, recv_inflight_ || send_inflight_ || SlotsInUse() != 0)
      << "NBD connection destroyed with I/O in flight";
}

absl::Status Connection::Start() {
  buffer_bytes_ = export_->max_block;
  limits_.size = export_->size;
  limits_.min_block = export_->min_block;
  limits_.max_block = export_->max_block;
  staging_.reset(new uint8_t[kStagingBytes]);
  iov_.resize(size_t{kMaxRepliesPerSend} * 2);

  if (options_.skip_handshake) {
    absl::Status opened = OpenQueueAndSlots();
    if (!opened.ok()) {
      return opened;
    }
  }
  loop_->AddPassHook(this);
  hooked_ = true;
  if (options_.skip_handshake) {
    phase_ = Phase::kHeader;
    limits_.transmission_flags = export_->transmission_flags;
    limits_.structured_replies = false;
  } else {
    loop_->ArmTimer(this, options_.handshake_timeout);
    handshake_.Start(&handshake_out_);
  }
  Pump();
  return absl::OkStatus();
}

absl::Status Connection::OpenQueueAndSlots() {
  ublk::QueueContext context;
  context.queue_id = options_.queue_id;
  context.depth = depth_;
  context.buffer_bytes = buffer_bytes_;
  context.loop = loop_;
  context.sink = this;
  auto queue = backend_->OpenQueue(context);
  if (!queue.ok()) {
    return queue.status();
  }
  queue_ = std::move(*queue);

  slots_.resize(depth_);
  free_.resize(depth_);
  ready_.resize(depth_);
  for (uint16_t tag = 0; tag < depth_; ++tag) {
    slots_[tag].buffer = queue_->TagBuffer(tag);
    free_[tag] = static_cast<uint16_t>(depth_ - 1 - tag);
  }
  free_count_ = depth_;
  if (std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.buffer; })) {
    auto buffers = ublk::TagBuffers::Allocate(depth_, buffer_bytes_);
    if (!buffers.ok()) {
      return buffers.status();
    }
    own_buffers_ = std::move(*buffers);
    for (uint16_t tag = 0; tag < depth_; ++tag) {
      if (!slots_[tag].buffer) {
        slots_[tag].buffer = own_buffers_.buffer(tag);
      }
    }
  }
  return absl::OkStatus();
}

void Connection::OpenQueue() {
  if (!wants_queue_) {
    return;
  }
  wants_queue_ = false;
  absl::Status opened = OpenQueueAndSlots();
  if (opened.ok()) {
    // After the backend's own hooks (the transport's batched flush), as
    // when the queue opens at start: commands reach the target before the
    // replies of the same pass go out.
    loop_->RemovePassHook(this);
    loop_->AddPassHook(this);
    handshake_.ConfirmExport(&handshake_out_);
  } else {
    LOG(ERROR) << "NBD: cannot serve the export to a client: " << opened.message();
    queue_.reset();
    handshake_.RefuseExport(opened, &handshake_out_);
    // The handshake deadline runs again for whatever the client does next.
    loop_->ArmTimer(this, options_.handshake_timeout);
  }
  Pump();
}

void Connection::OnTimer() {
  if (phase_ != Phase::kHandshake) {
    return;
  }
  LOG(WARNING) << "NBD client did not finish the handshake in time; dropping it";
  StopReading(absl::DeadlineExceededError("NBD handshake timed out"));
  // Wakes the pending recv (it completes with 0).
  shutdown(fd_, SHUT_RDWR);
}

void Connection::PostRecv(void* at, size_t bytes) {
  io_uring_sqe* sqe = loop_->GetSqe(&recv_op_);
  io_uring_prep_recv(sqe, fd_, at, bytes, 0);
  recv_inflight_ = true;
}

void Connection::StopReading(absl::Status why) {
  if (reading_) {
    reading_ = false;
    if (result_.ok()) {
      result_ = std::move(why);
    }
  }
}

void Connection::OnRecv(int32_t res) {
  recv_inflight_ = false;
  const bool direct = recv_direct_;
  recv_direct_ = false;
  if ((res == -EINTR || res == -EAGAIN) && reading_) {
    if (direct) {  // back to the tag buffer where it left off
      Slot& slot = slots_[payload_tag_];
      recv_direct_ = true;
      PostRecv(static_cast<uint8_t*>(slot.buffer) + payload_got_,
               slot.header.length - payload_got_);
      return;
    }
    Pump();
    return;
  }
  if (res <= 0 || !reading_) {
    const bool between_requests = phase_ != Phase::kPayload && staging_head_ == staging_tail_;
    if (phase_ == Phase::kPayload) {
      // The WRITE's payload never arrived in full: it is dropped, unwritten.
      phase_ = Phase::kHeader;
      Release(payload_tag_);
    }
    if (!reading_) {
      // Stopped already (handshake deadline, backend failure): keep the reason.
    } else if (res < 0) {
      StopReading(absl::UnavailableError(absl::StrCat("NBD client connection: ", strerror(-res))));
    } else if (!between_requests && reading_) {
      // A client that vanished mid-request: what it sent of it is dropped.
      StopReading(absl::AbortedError("NBD client went away in the middle of a request"));
    } else {
      StopReading(absl::OkStatus());
    }
    MaybeFinish();
    return;
  }
  if (direct) {
    payload_got_ += static_cast<uint32_t>(res);
  } else {
    staging_tail_ += static_cast<size_t>(res);
  }
  Pump();
}

void Connection::Pump() {
  while (reading_ && !recv_inflight_) {
    size_t available = staging_tail_ - staging_head_;
    if (phase_ == Phase::kHandshake) {
      if (!PumpHandshake()) {
        return;
      }
      continue;
    }
    if (phase_ == Phase::kPayload) {
      Slot& slot = slots_[payload_tag_];
      const uint32_t want = slot.header.length - payload_got_;
      const uint32_t take = static_cast<uint32_t>(std::min<size_t>(available, want));
      std::memcpy(static_cast<uint8_t*>(slot.buffer) + payload_got_, staging_.get() + staging_head_,
                  take);
      staging_head_ += take;
      payload_got_ += take;
      if (payload_got_ < slot.header.length) {
        staging_head_ = staging_tail_ = 0;
        recv_direct_ = true;
        PostRecv(static_cast<uint8_t*>(slot.buffer) + payload_got_,
                 slot.header.length - payload_got_);
        return;
      }
      phase_ = Phase::kHeader;
      Execute(payload_tag_);
      continue;
    }
    // kHeader
    if (available < kRequestHeaderBytes) {
      if (staging_head_ == staging_tail_) {
        staging_head_ = staging_tail_ = 0;
      } else if (kStagingBytes - staging_tail_ < kRequestHeaderBytes) {
        std::memmove(staging_.get(), staging_.get() + staging_head_, available);
        staging_head_ = 0;
        staging_tail_ = available;
      }
      PostRecv(staging_.get() + staging_tail_, kStagingBytes - staging_tail_);
      return;
    }
    if (free_count_ == 0) {
      stalled_ = true;  // resumes when a reply has gone out
      return;
    }
    auto header = DecodeRequestHeader(
        absl::MakeConstSpan(staging_.get() + staging_head_, kRequestHeaderBytes));
    if (!header.ok()) {
      LOG(WARNING) << "dropping NBD client: " << header.status().message();
      StopReading(header.status());
      break;
    }
    staging_head_ += kRequestHeaderBytes;
    HandleHeader(*header);
  }
  MaybeFinish();
}

// Returns false when it has to wait (for bytes or for the end).
bool Connection::PumpHandshake() {
  const size_t used = handshake_.Consume(
      absl::MakeConstSpan(staging_.get() + staging_head_, staging_tail_ - staging_head_),
      &handshake_out_);
  staging_head_ += used;
  if (handshake_.state() == Handshake::State::kClosed) {
    if (handshake_.close_reason().ok()) {
      StopReading(absl::OkStatus());
    } else {
      LOG(WARNING) << "NBD handshake failed: " << handshake_.close_reason().message();
      StopReading(handshake_.close_reason());
    }
    MaybeFinish();
    return false;
  }
  if (handshake_.state() == Handshake::State::kExportChosen) {
    // The owner opens the queue (outside this callback) and calls OpenQueue.
    wants_queue_ = true;
    if (armed()) {
      loop_->CancelTimer(this);
    }
    return false;
  }
  if (handshake_.state() == Handshake::State::kTransmission) {
    phase_ = Phase::kHeader;
    limits_.transmission_flags = static_cast<uint16_t>(
        export_->transmission_flags | (handshake_.structured_replies() ? kTxSendDf : 0));
    limits_.structured_replies = handshake_.structured_replies();
    if (armed()) {
      loop_->CancelTimer(this);
    }
    return true;
  }
  // Needs more bytes: make room for a whole option, then receive.
  if (staging_head_ == staging_tail_) {
    staging_head_ = staging_tail_ = 0;
  } else if (staging_head_ > 0) {
    const size_t available = staging_tail_ - staging_head_;
    std::memmove(staging_.get(), staging_.get() + staging_head_, available);
    staging_head_ = 0;
    staging_tail_ = available;
  }
  PostRecv(staging_.get() + staging_tail_, kStagingBytes - staging_tail_);
  return false;
}

void Connection::HandleHeader(const RequestHeader& header) {
  ++requests_;
  const RequestVerdict verdict = CheckRequest(header, limits_);
  if (verdict.action == RequestAction::kDropClient) {
    LOG(WARNING) << "dropping NBD client: " << CommandName(header.type) << " of " << header.length
                 << " bytes: " << verdict.why;
    StopReading(absl::InvalidArgumentError(
        absl::StrCat("NBD client sent a ", CommandName(header.type), ": ", verdict.why)));
    return;
  }
  if (verdict.action == RequestAction::kDisconnect) {
    StopReading(absl::OkStatus());
    return;
  }
  const uint16_t tag = free_[--free_count_];
  Slot& slot = slots_[tag];
  slot.header = header;
  slot.action = verdict.action;
  slot.error = verdict.action == RequestAction::kReject ? verdict.error : 0;
  if (verdict.action == RequestAction::kReject) {
    VLOG(1) << "NBD " << CommandName(header.type) << " rejected: " << verdict.why;
  }
  if (verdict.payload_bytes > 0) {
    phase_ = Phase::kPayload;
    payload_tag_ = tag;
    payload_got_ = 0;
    return;
  }
  Execute(tag);
}

void Connection::Execute(uint16_t tag) {
  Slot& slot = slots_[tag];
  if (slot.error != 0 || slot.action == RequestAction::kReject ||
      slot.action == RequestAction::kCache) {
    // CACHE is a hint; the backends keep no cache of their own to fill.
    Finish(tag);
    return;
  }
  const RequestHeader& h = slot.header;
  ublk::IoRequest& io = slot.io;
  io = ublk::IoRequest{};
  io.tag = tag;
  io.buffer = slot.buffer;
  slot.flushing = false;
  slot.flush_after = false;
  switch (slot.action) {
    case RequestAction::kRead:
    case RequestAction::kWrite: {
      io.op = slot.action == RequestAction::kRead ? ublk::IoOp::kRead : ublk::IoOp::kWrite;
      io.offset = h.offset;
      io.length = h.length;
      // FUA goes to the backend only where it honours it (a LUN whose
      // caching mode page says DPOFUA; LIO refuses FUA otherwise). Elsewhere
      // a volatile cache gets a FLUSH after the write, as the kernel's
      // block layer does for devices without FUA; no cache, nothing to do.
      const bool fua = (h.flags & kCmdFlagFua) != 0 && slot.action == RequestAction::kWrite;
      const ublk::Geometry& g = backend_->geometry();
      io.fua = fua && g.fua;
      slot.flush_after = fua && !g.fua && g.volatile_cache;
      break;
    }
    case RequestAction::kFlush:
      io.op = ublk::IoOp::kFlush;
      break;
    case RequestAction::kTrim:
    case RequestAction::kWriteZeroes:
      slot.next_offset = h.offset;
      slot.end = h.offset + h.length;
      slot.flush_after = (h.flags & kCmdFlagFua) != 0;
      if (slot.action == RequestAction::kWriteZeroes &&
          (backend_->geometry().max_write_zeroes_bytes == 0 || zeroes_by_writing_)) {
        std::memset(slot.buffer, 0, buffer_bytes_);
      }
      NextChunk(slot);
      break;
    default:
      Finish(tag);
      return;
  }
  Dispatch(tag);
}

// Sets up the next TRIM / WRITE_ZEROES chunk (or the trailing FLUSH) in
// slot.io; false when there is nothing left to do.
bool Connection::NextChunk(Slot& slot) {
  const ublk::Geometry& g = backend_->geometry();
  ublk::IoRequest& io = slot.io;
  if (slot.next_offset < slot.end) {
    uint64_t limit;
    if (slot.action == RequestAction::kTrim) {
      io.op = ublk::IoOp::kDiscard;
      limit = g.max_discard_bytes;
    } else if (g.max_write_zeroes_bytes != 0 && !zeroes_by_writing_) {
      io.op = ublk::IoOp::kWriteZeroes;
      io.no_unmap = (slot.header.flags & kCmdFlagNoHole) != 0;
      limit = g.max_write_zeroes_bytes;
    } else {
      io.op = ublk::IoOp::kWrite;  // from the zeroed tag buffer
      limit = buffer_bytes_;
    }
    if (limit == 0) {
      limit = 1u << 30;
    }
    const uint64_t align = std::max<uint32_t>(g.logical_block_size, 1);
    limit = std::max<uint64_t>(limit / align * align, align);
    io.offset = slot.next_offset;
    io.length = static_cast<uint32_t>(std::min<uint64_t>(limit, slot.end - slot.next_offset));
    slot.next_offset += io.length;
    return true;
  }
  if (slot.flush_after && !slot.flushing) {
    slot.flushing = true;
    io.op = ublk::IoOp::kFlush;
    io.offset = 0;
    io.length = 0;
    return true;
  }
  return false;
}

void Connection::Dispatch(uint16_t tag) {
  Slot& slot = slots_[tag];
  for (;;) {
    slot.in_submit = true;
    slot.inline_done = false;
    queue_->Submit(slot.io);
    slot.in_submit = false;
    if (!slot.inline_done) {
      return;
    }
    if (!Advance(slot, slot.inline_result)) {
      return;
    }
  }
}

void Connection::CompleteIo(uint16_t tag, int32_t result) {
  if (tag >= depth_) {
    LOG(ERROR) << "backend completed unknown tag " << tag;
    return;
  }
  Slot& slot = slots_[tag];
  if (slot.in_submit) {
    slot.inline_done = true;
    slot.inline_result = result;
    return;
  }
  if (Advance(slot, result)) {
    Dispatch(tag);
  }
}

// Takes a backend result; true when slot.io holds a further request to submit.
bool Connection::Advance(Slot& slot, int32_t result) {
  const uint16_t tag = static_cast<uint16_t>(&slot - slots_.data());
  if (result == -EOPNOTSUPP && slot.io.op == ublk::IoOp::kWriteZeroes) {
    // The backing store cannot zero a range (fallocate on 9p, a LUN without
    // WRITE SAME): the zeroes are written instead, from now on.
    LOG_IF(WARNING, !zeroes_by_writing_)
        << "NBD: the backend cannot zero ranges; writing zeroes instead";
    zeroes_by_writing_ = true;
    std::memset(slot.buffer, 0, buffer_bytes_);
    slot.next_offset = slot.io.offset;
    return NextChunk(slot);
  }
  if (result == -EOPNOTSUPP && slot.io.op == ublk::IoOp::kDiscard) {
    // TRIM is a hint the server may ignore; what was trimmed reads back as
    // anything, the old data included.
    slot.next_offset = slot.end;
    result = 0;
  }
  if (result < 0) {
    slot.error = NbdErrorForErrno(result);
    Finish(tag);
    return false;
  }
  if ((slot.action == RequestAction::kTrim || slot.action == RequestAction::kWriteZeroes) &&
      NextChunk(slot)) {
    return true;
  }
  if (slot.action == RequestAction::kWrite && slot.flush_after && !slot.flushing) {
    slot.flushing = true;  // the FUA of a backend without one
    slot.io.op = ublk::IoOp::kFlush;
    slot.io.fua = false;
    slot.io.offset = 0;
    slot.io.length = 0;
    return true;
  }
  Finish(tag);
  return false;
}

void Connection::FailQueue(absl::Status why) {
  LOG(ERROR) << "NBD backend failed: " << why.message();
  StopReading(std::move(why));
  shutdown(fd_, SHUT_RD);  // wakes a pending recv
}

// Builds the reply and queues it for the next send.
void Connection::Finish(uint16_t tag) {
  Slot& slot = slots_[tag];
  const uint64_t cookie = slot.header.cookie;
  const bool is_read = slot.header.type == kCmdRead;
  slot.data_bytes = 0;
  if (!limits_.structured_replies) {
    EncodeSimpleReply(slot.error, cookie, slot.reply);
    slot.reply_bytes = kSimpleReplyBytes;
    if (is_read && slot.error == 0) {
      slot.data_bytes = slot.header.length;
    }
  } else if (slot.error != 0) {
    EncodeStructuredHeader(kReplyFlagDone, kReplyTypeError, cookie, 6, slot.reply);
    PutBe32(slot.reply + kStructuredHeaderBytes, slot.error);
    PutBe16(slot.reply + kStructuredHeaderBytes + 4, 0);  // no message
    slot.reply_bytes = kStructuredHeaderBytes + 6;
  } else if (is_read) {
    EncodeStructuredHeader(kReplyFlagDone, kReplyTypeOffsetData, cookie, 8 + slot.header.length,
                           slot.reply);
    PutBe64(slot.reply + kStructuredHeaderBytes, slot.header.offset);
    slot.reply_bytes = kStructuredHeaderBytes + 8;
    slot.data_bytes = slot.header.length;
  } else {
    EncodeStructuredHeader(kReplyFlagDone, kReplyTypeNone, cookie, 0, slot.reply);
    slot.reply_bytes = kStructuredHeaderBytes;
  }
  if (send_broken_) {
    Release(tag);
    MaybeFinish();
    return;
  }
  ready_[(ready_head_ + ready_count_) % depth_] = tag;
  ++ready_count_;
}

void Connection::Release(uint16_t tag) {
  free_[free_count_++] = tag;
  if (stalled_) {
    stalled_ = false;
    Pump();
  }
}

void Connection::BeforeSubmit() {
  if (send_inflight_ || send_broken_) {
    return;
  }
  size_t n = 0;
  if (handshake_sent_ < handshake_out_.size()) {
    iov_[0].iov_base = handshake_out_.data() + handshake_sent_;
    iov_[0].iov_len = handshake_out_.size() - handshake_sent_;
    n = 1;
  } else {
    const uint16_t count = std::min(ready_count_, kMaxRepliesPerSend);
    uint32_t skip = send_skip_;
    for (uint16_t i = 0; i < count; ++i) {
      Slot& slot = slots_[ready_[(ready_head_ + i) % depth_]];
      if (skip < slot.reply_bytes) {
        iov_[n].iov_base = slot.reply + skip;
        iov_[n].iov_len = slot.reply_bytes - skip;
        ++n;
        skip = 0;
      } else {
        skip -= slot.reply_bytes;
      }
      if (slot.data_bytes > skip) {
        iov_[n].iov_base = static_cast<uint8_t*>(slot.buffer) + skip;
        iov_[n].iov_len = slot.data_bytes - skip;
        ++n;
      }
      skip = 0;
    }
  }
  if (n == 0) {
    return;
  }
  msg_ = msghdr{};
  msg_.msg_iov = iov_.data();
  msg_.msg_iovlen = n;
  io_uring_sqe* sqe = loop_->GetSqe(&send_op_);
  io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
  send_inflight_ = true;
}

void Connection::OnSend(int32_t res) {
  send_inflight_ = false;
  if (res == -EINTR || res == -EAGAIN) {
    return;  // sent again next pass
  }
  if (res < 0) {
    send_broken_ = true;
    StopReading(absl::UnavailableError(absl::StrCat("NBD reply lost: ", strerror(-res))));
    shutdown(fd_, SHUT_RDWR);  // a pending recv ends too
    handshake_sent_ = handshake_out_.size();
    while (ready_count_ > 0) {
      const uint16_t tag = ready_[ready_head_];
      ready_head_ = static_cast<uint16_t>((ready_head_ + 1) % depth_);
      --ready_count_;
      Release(tag);
    }
    MaybeFinish();
    return;
  }
  uint64_t sent = static_cast<uint64_t>(res);
  if (handshake_sent_ < handshake_out_.size()) {
    handshake_sent_ += sent;
    if (handshake_sent_ == handshake_out_.size()) {
      handshake_out_.clear();
      handshake_sent_ = 0;
    }
    MaybeFinish();
    return;
  }
  sent += send_skip_;
  while (ready_count_ > 0) {
    const uint16_t tag = ready_[ready_head_];
    const Slot& slot = slots_[tag];
    const uint64_t total = uint64_t{slot.reply_bytes} + slot.data_bytes;
    if (sent < total) {
      break;
    }
    sent -= total;
    ready_head_ = static_cast<uint16_t>((ready_head_ + 1) % depth_);
    --ready_count_;
    Release(tag);
  }
  send_skip_ = static_cast<uint32_t>(sent);
  MaybeFinish();
}

void Connection::MaybeFinish() {
  if (finished_ || reading_ || recv_inflight_ || send_inflight_) {
    return;
  }
  if (SlotsInUse() != 0) {
    return;
  }
  if (!send_broken_ && handshake_sent_ < handshake_out_.size()) {
    return;
  }
  finished_ = true;
  if (armed()) {
    loop_->CancelTimer(this);
  }
}

}  // namespace isergw::nbd
