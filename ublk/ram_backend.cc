#include "ublk/ram_backend.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "ublk/io_request.h"
#include "ublk/params.h"

namespace isergw::ublk {
namespace {

class RamQueue final : public QueueBackend {
 public:
  RamQueue(RamBackend* ram, QueueSink* sink) : ram_(ram), sink_(sink) {}
  void Submit(const IoRequest& io) override { sink_->CompleteIo(io.tag, ram_->Execute(io)); }

 private:
  RamBackend* ram_;
  QueueSink* sink_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RamBackend>> RamBackend::Create(uint64_t size,
                                                               uint32_t logical_block_size) {
  std::unique_ptr<RamBackend> ram(new RamBackend());
  Geometry& g = ram->geometry_;
  g.capacity_bytes = size;
  g.logical_block_size = logical_block_size;
  g.physical_block_size = logical_block_size > 4096 ? logical_block_size : 4096;
  g.max_io_bytes = 512 * 1024;
  g.discard_granularity = 4096 > logical_block_size ? 4096 : logical_block_size;
  g.max_discard_bytes = 64u << 20;
  g.max_write_zeroes_bytes = 64u << 20;
  if (absl::Status s = ValidateGeometry(g); !s.ok()) {
    return s;
  }
  void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (data == MAP_FAILED) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", size, " bytes for the RAM volume: ", strerror(errno)));
  }
  ram->data_ = static_cast<uint8_t*>(data);
  ram->mapped_ = size;
  return ram;
}

RamBackend::~RamBackend() {
  if (data_ != nullptr) {
    munmap(data_, mapped_);
  }
}

std::string RamBackend::Describe() const {
  return absl::StrCat("RAM volume of ", geometry_.capacity_bytes, " bytes");
}

absl::StatusOr<std::unique_ptr<QueueBackend>> RamBackend::OpenQueue(const QueueContext& context) {
  return std::make_unique<RamQueue>(this, context.sink);
}

void RamBackend::Zero(uint64_t offset, uint64_t length) {
  // Whole pages go back to the kernel (they read as zeros again); the edges
  // are cleared by hand.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t first = (offset + page - 1) / page * page;
  const uint64_t last = (offset + length) / page * page;
  if (first < last) {
    std::memset(data_ + offset, 0, first - offset);
    if (madvise(data_ + first, last - first, MADV_DONTNEED) != 0) {
      std::memset(data_ + first, 0, last - first);
    }
    std::memset(data_ + last, 0, offset + length - last);
  } else {
    std::memset(data_ + offset, 0, length);
  }
}

int32_t RamBackend::Execute(const IoRequest& io) {
  if (io.op != IoOp::kFlush &&
      (io.offset > geometry_.capacity_bytes || io.length > geometry_.capacity_bytes - io.offset)) {
    return -EIO;
  }
  switch (io.op) {
    case IoOp::kRead:
      std::memcpy(io.buffer, data_ + io.offset, io.length);
      break;
    case IoOp::kWrite:
      std::memcpy(data_ + io.offset, io.buffer, io.length);
      break;
    case IoOp::kFlush:
      break;
    case IoOp::kDiscard:
    case IoOp::kWriteZeroes:
      Zero(io.offset, io.length);
      break;
  }
  return SuccessResult(io);
}

}  // namespace isergw::ublk
