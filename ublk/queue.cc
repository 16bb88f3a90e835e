#include "ublk/queue.h"

#include <glog/logging.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <future>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "iser_client/uring/event_loop.h"
#include "ublk/io_request.h"
#include "ublk/tag_buffers.h"

namespace isergw::ublk {
namespace {

int64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

// The queue thread's state. Everything here lives on that thread.
class QueueRunner final : public QueueSink {
 public:
  explicit QueueRunner(Queue* queue) : queue_(queue), config_(queue->config_) {}
  ~QueueRunner();

  // Sets up the ring, descriptors, backend and buffers and fetches every tag.
  absl::Status Setup();
  // Serves until the driver aborts every fetch or a stop is requested and
  // nothing is left with the backend.
  void Serve();

  void CompleteIo(uint16_t tag, int32_t result) override;
  void FailQueue(absl::Status why) override;

 private:
  enum class TagState : uint8_t {
    kIdle,      // no command with the driver
    kFetching,  // FETCH or COMMIT_AND_FETCH with the driver, waiting for a request
    kServing,   // a request is ours (with the backend, or being failed)
    kGone,      // the driver aborted the fetch (device stopping) or refused it
  };

  struct TagSlot final : uring::Completion {
    void OnComplete(int32_t res, uint32_t /*flags*/) override { runner->OnCommandDone(*this, res); }
    QueueRunner* runner = nullptr;
    void* buffer = nullptr;
    uint16_t tag = 0;
    TagState state = TagState::kIdle;
    // The request being served, for the stats.
    IoOp op = IoOp::kRead;
    uint32_t length = 0;
    int64_t start_ns = 0;
  };

  struct Waker final : uring::Completion {
    void OnComplete(int32_t res, uint32_t /*flags*/) override { runner->OnWake(res); }
    QueueRunner* runner = nullptr;
    uint64_t value = 0;
  };

  void SendCommand(TagSlot& slot, IoCommand command, int32_t result);
  void OnCommandDone(TagSlot& slot, int32_t res);
  void Dispatch(TagSlot& slot);
  void ArmWaker();
  void OnWake(int32_t res);
  bool Done() const {
    return live_ == 0 || (queue_->stop_requested_.load(std::memory_order_acquire) && serving_ == 0);
  }

  Queue* queue_;
  const QueueConfig& config_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<QueueBackend> backend_;
  const ublksrv_io_desc* descs_ = nullptr;
  size_t descs_bytes_ = 0;
  TagBuffers default_buffers_;
  std::vector<TagSlot> slots_;
  Waker waker_;
  uint32_t live_ = 0;     // tags not kGone
  uint32_t serving_ = 0;  // tags kServing
  bool failed_ = false;   // backend gave up: fail requests without it
  bool fixed_char_fd_ = false;
};

QueueRunner::~QueueRunner() {
  // Backend first (it may cancel its own SQEs through the loop), then the
  // ring (cancelling the fetches still with the driver), then the memory the
  // driver and the ring pointed at.
  backend_.reset();
  loop_.reset();
  if (descs_ != nullptr) {
    munmap(const_cast<ublksrv_io_desc*>(descs_), descs_bytes_);
  }
}

absl::Status QueueRunner::Setup() {
  const uint16_t depth = config_.depth;
  uring::EventLoop::Options options;
  // Per tag one ublk command and (for io_uring backends) one backend SQE.
  unsigned entries = 16;
  while (entries < 2u * depth + 8) {
    entries <<= 1;
  }
  options.entries = entries;
  auto loop = uring::EventLoop::Create(options);
  if (!loop.ok()) {
    return loop.status();
  }
  loop_ = std::move(*loop);
  // /dev/ublkcN as fixed file 0: the driver's commands skip the per-SQE
  // file lookup (ublksrv does the same). Without it, plain fds work too.
  fixed_char_fd_ = io_uring_register_files(loop_->ring(), &config_.char_fd, 1) == 0;

  const uint32_t page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
  descs_bytes_ = DescriptorAreaBytes(depth, page);
  const off_t offset = static_cast<off_t>(DescriptorAreaOffset(config_.queue_id, page));
  void* descs =
      mmap(nullptr, descs_bytes_, PROT_READ, MAP_SHARED | MAP_POPULATE, config_.char_fd, offset);
  if (descs == MAP_FAILED) {
    return absl::InternalError(absl::StrCat("queue ", config_.queue_id,
                                            ": cannot map the I/O descriptors: ", strerror(errno)));
  }
  descs_ = static_cast<const ublksrv_io_desc*>(descs);

  QueueContext context;
  context.queue_id = config_.queue_id;
  context.depth = depth;
  context.buffer_bytes = config_.buffer_bytes;
  context.loop = loop_.get();
  context.sink = this;
  auto backend = config_.backend->OpenQueue(context);
  if (!backend.ok()) {
    return backend.status();
  }
  backend_ = std::move(*backend);

  slots_.resize(depth);
  for (uint16_t tag = 0; tag < depth; ++tag) {
    TagSlot& slot = slots_[tag];
    slot.runner = this;
    slot.tag = tag;
    slot.buffer = backend_->TagBuffer(tag);
    if (slot.buffer == nullptr) {
      if (default_buffers_.tags() == 0) {
        auto buffers = TagBuffers::Allocate(depth, config_.buffer_bytes);
        if (!buffers.ok()) {
          return buffers.status();
        }
        default_buffers_ = std::move(*buffers);
      }
      slot.buffer = default_buffers_.buffer(tag);
    }
  }

  waker_.runner = this;
  ArmWaker();
  for (TagSlot& slot : slots_) {
    SendCommand(slot, IoCommand::kFetchReq, -1);
    ++live_;
  }
  // Submit now: the driver checks a fetch while taking it, so refusals are
  // already in the completion queue when the submit returns.
  auto ran = loop_->RunOnce(false);
  if (!ran.ok()) {
    return ran.status();
  }
  if (live_ != depth) {
    return absl::InternalError(absl::StrCat("queue ", config_.queue_id, ": the driver refused ",
                                            depth - live_, " of ", depth, " fetches"));
  }
  return absl::OkStatus();
}

void QueueRunner::ArmWaker() {
  io_uring_sqe* sqe = loop_->GetSqe(&waker_);
  io_uring_prep_read(sqe, queue_->wake_fd_, &waker_.value, sizeof(waker_.value), 0);
  io_uring_sqe_set_data(sqe, &waker_);
}

void QueueRunner::OnWake(int32_t res) {
  if (res < 0 && res != -EINTR && res != -EAGAIN) {
    return;  // ring going away
  }
  if (!queue_->stop_requested_.load(std::memory_order_acquire)) {
    ArmWaker();
  }
}

void QueueRunner::SendCommand(TagSlot& slot, IoCommand command, int32_t result) {
  io_uring_sqe* sqe = loop_->GetSqe(&slot);
  const __u64 user_data = sqe->user_data;
  std::memset(sqe, 0, sizeof(*sqe));
  sqe->user_data = user_data;
  sqe->opcode = IORING_OP_URING_CMD;
  if (fixed_char_fd_) {
    sqe->fd = 0;
    sqe->flags |= IOSQE_FIXED_FILE;
  } else {
    sqe->fd = config_.char_fd;
  }
  sqe->cmd_op = IoOpcode(command, config_.encoding);
  ublksrv_io_cmd cmd{};
  cmd.q_id = config_.queue_id;
  cmd.tag = slot.tag;
  cmd.result = result;
  cmd.addr = reinterpret_cast<uint64_t>(slot.buffer);
  std::memcpy(sqe->cmd, &cmd, sizeof(cmd));
  slot.state = TagState::kFetching;
}

void QueueRunner::OnCommandDone(TagSlot& slot, int32_t res) {
  if (res == UBLK_IO_RES_OK) {
    slot.state = TagState::kServing;
    ++serving_;
    Dispatch(slot);
    return;
  }
  // UBLK_IO_RES_ABORT (-ENODEV): the device is stopping (or recovering) and
  // this tag fetches no more. Anything else is a refusal of our command.
  slot.state = TagState::kGone;
  --live_;
  if (res != UBLK_IO_RES_ABORT && !queue_->stop_requested_.load(std::memory_order_acquire)) {
    LOG(ERROR) << "ublk queue " << config_.queue_id << " tag " << slot.tag
               << ": the driver refused the command: " << strerror(-res);
  }
}

void QueueRunner::Dispatch(TagSlot& slot) {
  // The descriptor is the driver's memory: copy it once, then decode the copy.
  ublksrv_io_desc desc;
  std::memcpy(&desc, const_cast<const ublksrv_io_desc*>(&descs_[slot.tag]), sizeof(desc));
  IoRequest io;
  absl::Status decoded =
      DecodeIoDesc(desc, slot.tag, slot.buffer, config_.buffer_bytes, config_.geometry, &io);
  slot.op = io.op;
  slot.length = io.length;
  slot.start_ns = MonotonicNanos();
  queue_->stats_.OnStart();
  if (!decoded.ok()) {
    VLOG(1) << "ublk queue " << config_.queue_id << ": " << decoded;
    CompleteIo(slot.tag, ErrnoFor(decoded));
    return;
  }
  if (failed_) {
    CompleteIo(slot.tag, -EIO);
    return;
  }
  backend_->Submit(io);
}

void QueueRunner::CompleteIo(uint16_t tag, int32_t result) {
  TagSlot& slot = slots_[tag];
  if (slot.state != TagState::kServing) {
    LOG(DFATAL) << "ublk queue " << config_.queue_id << " tag " << tag
                << " completed twice or never fetched";
    return;
  }
  --serving_;
  const int64_t elapsed_ns = MonotonicNanos() - slot.start_ns;
  queue_->stats_.OnComplete(slot.op, slot.length, result, static_cast<uint64_t>(elapsed_ns) / 1000);
  SendCommand(slot, IoCommand::kCommitAndFetchReq, result);
}

void QueueRunner::FailQueue(absl::Status why) {
  if (failed_) {
    return;
  }
  failed_ = true;
  LOG(ERROR) << "ublk queue " << config_.queue_id << ": backend failed: " << why;
  config_.events->OnQueueFailed(config_.queue_id, why);
}

void QueueRunner::Serve() {
  while (!Done()) {
    auto ran = loop_->RunOnce(true);
    if (!ran.ok()) {
      FailQueue(ran.status());
      // Without a working ring nothing more can be committed.
      return;
    }
  }
  // Make the last commits reach the driver before the ring goes away.
  (void)loop_->RunOnce(false);
}

Queue::Queue(const QueueConfig& config) : config_(config) {}

Queue::~Queue() {
  RequestStop();
  Join();
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

absl::Status Queue::Start() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  }
  std::promise<absl::Status> ready;
  std::future<absl::Status> setup = ready.get_future();
  thread_ = std::thread([this, &ready] {
    // The ring is created here: SINGLE_ISSUER rings belong to their creator,
    // and the driver binds each queue to the task that fetched on it.
    QueueRunner runner(this);
    absl::Status status = runner.Setup();
    const bool ok = status.ok();
    ready.set_value(std::move(status));
    if (ok) {
      runner.Serve();
    }
  });
  absl::Status status = setup.get();
  if (!status.ok()) {
    Join();
  }
  return status;
}

void Queue::RequestStop() {
  stop_requested_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof(one));
    (void)n;
  }
}

void Queue::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace isergw::ublk
