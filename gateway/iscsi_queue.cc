#include "gateway/iscsi_queue.h"

#include <glog/logging.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/iscsi_backend.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/sense.h"

namespace isergw::gateway {
namespace {

// The errno the block layer gets when the command never completed at the
// target (ublk hands it to the kernel's errno_to_blk_status).
int32_t TransportErrno(const absl::Status& status) {
  switch (iscsi::GetFailureKind(status)) {
    case iscsi::FailureKind::kTimedOut:
      return -scsi::ToErrno(scsi::TransportFailure::kTimedOut);
    case iscsi::FailureKind::kTransport:
    case iscsi::FailureKind::kProtocol:
    case iscsi::FailureKind::kConnectionRefused:
    case iscsi::FailureKind::kNoRoute:
      return -scsi::ToErrno(scsi::TransportFailure::kConnectionLost);
    default:
      return -EIO;
  }
}

}  // namespace

IscsiQueue::IscsiQueue(const ublk::QueueContext& context, const QueuePaths& paths,
                       const iscsi::LunInfo& info)
    : context_(context),
      paths_(paths),
      info_(info),
      lun_field_(scsi::EncodeLun(info.lun)),
      portal_index_(paths.first_portal),
      slots_(context.depth) {}

absl::StatusOr<std::unique_ptr<IscsiQueue>> IscsiQueue::Open(const ublk::QueueContext& context,
                                                             const QueuePaths& paths,
                                                             const iscsi::LunInfo& info) {
  std::unique_ptr<IscsiQueue> queue(new IscsiQueue(context, paths, info));
  auto factory = iscsi::MakeTransportFactory(*paths.options);
  if (!factory.ok()) return factory.status();
  queue->transport_factory_ = std::move(*factory);
  queue->session_config_ = iscsi::MakeSessionConfig(*paths.options);
  queue->session_config_.max_commands = context.depth;
  // Every queue is a session of its own: a shared ISID would make the
  // target reinstate (drop) the previous queue's session. The queue keeps
  // its ISID across reconnects, which is what reinstates its own session.
  queue->session_config_.login.isid = iscsi::RandomIsid();
  queue->reissue_order_.reserve(context.depth);

  // The first login goes round the portals once: the one this queue starts
  // at may be the one that is down.
  for (size_t tried = 0; tried < paths.portals->size(); ++tried) {
    queue->login_result_.reset();
    queue->StartLogin();
    absl::Status ran = context.loop->RunUntil([&] { return queue->login_result_.has_value(); });
    if (!ran.ok()) return ran;
    if (queue->login_result_->ok() || !IsPortalFailure(*queue->login_result_)) break;
    LOG(WARNING) << "queue " << context.queue_id << ": " << FormatPath(queue->portal()) << ": "
                 << queue->login_result_->message() << "; trying the next portal";
    queue->RetireSession();
    queue->portal_index_ = (queue->portal_index_ + 1) % paths.portals->size();
  }
  if (!queue->login_result_->ok()) {
    return absl::Status(
        queue->login_result_->code(),
        absl::StrCat("queue ", context.queue_id, " login: ", queue->login_result_->message()));
  }

  auto arena = iscsi::IoBufferArena::Create(size_t{context.depth} * context.buffer_bytes);
  if (!arena.ok()) return arena.status();
  queue->arena_.emplace(std::move(*arena));
  for (uint16_t tag = 0; tag < context.depth; ++tag) {
    queue->tag_buffers_.push_back(queue->arena_->Allocate(context.buffer_bytes));
  }

  void* zero = nullptr;
  if (posix_memalign(&zero, 4096, info.block_size) != 0) {
    return absl::ResourceExhaustedError("cannot allocate the zero block");
  }
  memset(zero, 0, info.block_size);
  queue->zero_block_.reset(static_cast<uint8_t*>(zero));
  for (Slot& slot : queue->slots_) {
    slot.queue = queue.get();
    slot.request.context = &slot;
    slot.request.done = &IscsiQueue::OnDone;
    slot.request.lun = queue->lun_field_;
  }
  queue->OnTimer();  // publishes now, then once a second
  return queue;
}

IscsiQueue::~IscsiQueue() {
  context_.loop->CancelTimer(this);
  closing_ = true;
  if (session_ != nullptr && session_->state() == iscsi::Session::State::kFullFeature &&
      session_->commands_in_flight() == 0) {
    // Best effort: a clean logout spares the target a dangling session.
    session_->Logout();
    (void)context_.loop->RunUntil(
        [&] { return session_->state() != iscsi::Session::State::kLoggingOut; },
        absl::Now() + absl::Seconds(2));
  }
}

void IscsiQueue::Submit(const ublk::IoRequest& io) {
  Slot& slot = slots_[io.tag];
  slot.io = io;
  slot.retries.Reset();
  slot.sequence = next_sequence_++;
  Issue(slot);
}

bool IscsiQueue::SessionAcceptsCommands() const {
  return state_ == PathState::kLive && session_->state() == iscsi::Session::State::kFullFeature &&
         !session_->logout_requested();
}

void IscsiQueue::Issue(Slot& slot) {
  if (!SessionAcceptsCommands()) return Park(slot);
  const ublk::IoRequest& io = slot.io;
  const uint32_t block = info_.block_size;
  const uint64_t lba = io.offset / block;
  const uint32_t blocks = io.length / block;
  scsi::Cdb cdb;
  iscsi::ScsiRequest& req = slot.request;
  switch (io.op) {
    case ublk::IoOp::kRead:
      cdb = scsi::MakeRead(lba, blocks, false);
      req.direction = iscsi::DataDirection::kRead;
      req.buffer = static_cast<uint8_t*>(io.buffer);
      req.length = io.length;
      break;
    case ublk::IoOp::kWrite:
      cdb = scsi::MakeWrite(lba, blocks, io.fua);
      req.direction = iscsi::DataDirection::kWrite;
      req.buffer = static_cast<uint8_t*>(io.buffer);
      req.length = io.length;
      break;
    case ublk::IoOp::kFlush:
      cdb = scsi::MakeSynchronizeCache();
      req.direction = iscsi::DataDirection::kNone;
      req.buffer = nullptr;
      req.length = 0;
      break;
    case ublk::IoOp::kDiscard: {
      const scsi::UnmapRange range{lba, blocks};
      auto length = scsi::BuildUnmapParameterList({&range, 1}, slot.unmap_list);
      if (!length.ok()) {
        context_.sink->CompleteIo(io.tag, -EINVAL);
        return;
      }
      cdb = scsi::MakeUnmap(static_cast<uint16_t>(*length));
      req.direction = iscsi::DataDirection::kWrite;
      req.buffer = slot.unmap_list;
      req.length = static_cast<uint32_t>(*length);
      break;
    }
    case ublk::IoOp::kWriteZeroes: {
      // UNMAP only where unmapped blocks are guaranteed to read as zeros.
      scsi::WriteSameFlags flags;
      flags.unmap = !io.no_unmap && info_.supports_write_same_unmap() && info_.unmapped_reads_zero;
      cdb = scsi::MakeWriteSame16(lba, blocks, flags);
      req.direction = iscsi::DataDirection::kWrite;
      req.buffer = zero_block_.get();
      req.length = block;
      break;
    }
  }
  memcpy(req.cdb, cdb.bytes, cdb.length);
  req.cdb_length = cdb.length;
  absl::Status submitted = session_->Submit(&req);
  if (submitted.ok()) return;
  if (!SessionAcceptsCommands()) return Park(slot);
  context_.sink->CompleteIo(io.tag, TransportErrno(submitted));
}

void IscsiQueue::OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
  auto* slot = static_cast<Slot*>(request->context);
  slot->queue->Complete(*slot, result);
}

void IscsiQueue::Complete(Slot& slot, const iscsi::ScsiResult& result) {
  const ublk::IoRequest& io = slot.io;
  if (!result.status.ok()) {
    // The session died with the command unfinished: it waits for the next
    // session.
    if (!SessionAcceptsCommands()) return Park(slot);
    // The target aborted it after our command timeout (ABORT TASK or a
    // LOGICAL UNIT RESET), so it is no longer running there: issue it again,
    // as the kernel's SCSI error handler does, a few times before the block
    // layer hears of it.
    if (iscsi::GetFailureKind(result.status) == iscsi::FailureKind::kTimedOut &&
        slot.retries.ShouldRetry(scsi::CommandOutcome::kRetry)) {
      LOG(WARNING) << "queue " << context_.queue_id << " tag " << io.tag << ": "
                   << result.status.message() << "; issuing it again (retry " << slot.retries.used()
                   << " of " << scsi::kMaxRetriesPerCommand << ")";
      Issue(slot);
      return;
    }
    context_.sink->CompleteIo(io.tag, TransportErrno(result.status));
    return;
  }
  std::optional<scsi::SenseData> sense;
  if (!result.sense.empty()) {
    if (auto decoded = scsi::DecodeSense(result.sense); decoded.ok()) sense = *decoded;
  }
  const scsi::SenseData* sense_ptr = sense ? &*sense : nullptr;
  switch (scsi::Classify(result.scsi_status, sense_ptr)) {
    case scsi::CommandOutcome::kRetry:
      if (slot.retries.ShouldRetry(scsi::CommandOutcome::kRetry)) {
        Issue(slot);
        return;
      }
      [[fallthrough]];
    case scsi::CommandOutcome::kFail:
      LOG(WARNING) << "queue " << context_.queue_id << " tag " << io.tag << ": "
                   << scsi::ToStatus(result.scsi_status, sense_ptr).message();
      context_.sink->CompleteIo(io.tag, -scsi::ToErrno(result.scsi_status, sense_ptr));
      return;
    case scsi::CommandOutcome::kSuccess:
      break;
  }
  const bool data = io.op == ublk::IoOp::kRead || io.op == ublk::IoOp::kWrite;
  if (data && result.residual != 0) {
    // The target moved less than asked: never report a short transfer as done.
    context_.sink->CompleteIo(io.tag, -EIO);
    return;
  }
  context_.sink->CompleteIo(io.tag, data ? static_cast<int32_t>(io.length) : 0);
}

}  // namespace isergw::gateway
