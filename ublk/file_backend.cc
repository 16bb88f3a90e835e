#include "ublk/file_backend.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ublk/io_request.h"
#include "ublk/params.h"

namespace isergw::ublk {
namespace {

// One in-flight request of a queue: re-submits short reads and writes and
// -EAGAIN until the whole range is done, then completes the tag.
class FileQueue final : public QueueBackend {
 public:
  FileQueue(int fd, const QueueContext& context)
      : fd_(fd), loop_(context.loop), sink_(context.sink) {
    ops_.resize(context.depth);
    for (Op& op : ops_) {
      op.queue = this;
    }
  }

  void Submit(const IoRequest& io) override {
    Op& op = ops_[io.tag];
    op.io = io;
    op.done = 0;
    op.stage = 0;
    Issue(op);
  }

 private:
  struct Op final : uring::Completion {
    void OnComplete(int32_t res, uint32_t /*flags*/) override { queue->OnOpDone(*this, res); }
    FileQueue* queue = nullptr;
    IoRequest io;
    uint32_t done = 0;  // bytes already read or written
    // kWriteZeroes with no_unmap where ZERO_RANGE is unsupported (tmpfs):
    // punch a hole (stage 1), then allocate the range again (stage 2).
    uint8_t stage = 0;
  };

  void Issue(Op& op) {
    io_uring_sqe* sqe = loop_->GetSqe(&op);
    const IoRequest& io = op.io;
    switch (io.op) {
      case IoOp::kRead:
        io_uring_prep_read(sqe, fd_, static_cast<char*>(io.buffer) + op.done, io.length - op.done,
                           io.offset + op.done);
        break;
      case IoOp::kWrite:
        io_uring_prep_write(sqe, fd_, static_cast<char*>(io.buffer) + op.done, io.length - op.done,
                            io.offset + op.done);
        if (io.fua) {
          sqe->rw_flags = RWF_DSYNC;
        }
        break;
      case IoOp::kFlush:
        io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
        break;
      case IoOp::kDiscard:
        io_uring_prep_fallocate(sqe, fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, io.offset,
                                io.length);
        break;
      case IoOp::kWriteZeroes:
        // NOUNMAP asks for the blocks to stay allocated: ZERO_RANGE keeps
        // them; otherwise a hole reads back as zeros as well.
        io_uring_prep_fallocate(
            sqe, fd_,
            (io.no_unmap ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE) | FALLOC_FL_KEEP_SIZE,
            io.offset, io.length);
        break;
    }
    io_uring_sqe_set_data(sqe, &op);
  }

  void OnOpDone(Op& op, int32_t res) {
    if (res == -EAGAIN || res == -EINTR) {
      Issue(op);
      return;
    }
    if (op.io.op == IoOp::kWriteZeroes && op.io.no_unmap) {
      if (op.stage == 0 && res == -EOPNOTSUPP) {
        op.stage = 1;
        Issue(op);
        return;
      }
      if (op.stage == 1 && res >= 0) {
        op.stage = 2;
        Issue(op);
        return;
      }
    }
    if (res < 0) {
      sink_->CompleteIo(op.io.tag, res);
      return;
    }
    if (op.io.op == IoOp::kRead || op.io.op == IoOp::kWrite) {
      if (res == 0) {
        // End of file before the end of the range: the file shrank.
        sink_->CompleteIo(op.io.tag, -EIO);
        return;
      }
      op.done += static_cast<uint32_t>(res);
      if (op.done < op.io.length) {
        Issue(op);
        return;
      }
    }
    sink_->CompleteIo(op.io.tag, SuccessResult(op.io));
  }

  int fd_;
  uring::EventLoop* loop_;
  QueueSink* sink_;
  std::vector<Op> ops_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FileBackend>> FileBackend::Open(const std::string& path,
                                                               const FileBackendOptions& options) {
  std::unique_ptr<FileBackend> file(new FileBackend());
  file->path_ = path;
  int fd = open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  file->direct_ = true;
  if (fd < 0 && errno == EINVAL && !options.require_direct) {
    // The filesystem has no O_DIRECT (tmpfs before 6.6, some FUSE): buffered.
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    file->direct_ = false;
    if (fd >= 0) {
      LOG(WARNING) << path << ": no O_DIRECT on this filesystem; using buffered I/O";
    }
  }
  if (fd < 0) {
    const int error = errno;
    std::string what = absl::StrCat("cannot open ", path, ": ", strerror(error));
    if (error == ENOENT) {
      return absl::NotFoundError(what);
    }
    if (error == EACCES || error == EPERM || error == EROFS) {
      return absl::PermissionDeniedError(what);
    }
    return absl::InvalidArgumentError(what);
  }
  file->fd_ = fd;

  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat("fstat ", path, ": ", strerror(errno)));
  }
  Geometry& g = file->geometry_;
  uint64_t size = 0;
  uint32_t device_lbs = 512;
  uint32_t device_pbs = 4096;
  if (S_ISBLK(st.st_mode)) {
    file->block_device_ = true;
    int lbs = 0;
    unsigned int pbs = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0 || ioctl(fd, BLKSSZGET, &lbs) != 0 ||
        ioctl(fd, BLKPBSZGET, &pbs) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot read the geometry of ", path, ": ", strerror(errno)));
    }
    device_lbs = static_cast<uint32_t>(lbs);
    device_pbs = pbs;
  } else if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
    if (st.st_blksize > 0) {
      device_pbs = static_cast<uint32_t>(st.st_blksize);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is neither a regular file nor a block device"));
  }
  if (size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": size is zero"));
  }

  g.logical_block_size = options.logical_block_size != 0 ? options.logical_block_size : device_lbs;
  if (file->direct_ && g.logical_block_size < device_lbs) {
    return absl::InvalidArgumentError(absl::StrCat("block size ", g.logical_block_size,
                                                   " is below ", path, "'s ", device_lbs,
                                                   " (O_DIRECT needs whole device blocks)"));
  }
  g.physical_block_size = device_pbs;
  if (g.physical_block_size < g.logical_block_size || (device_pbs & (device_pbs - 1)) != 0 ||
      device_pbs > 65536) {
    g.physical_block_size = g.logical_block_size;
  }
  // A tail shorter than one block is not addressable; leave it out.
  g.capacity_bytes =
      g.logical_block_size == 0 ? size : size / g.logical_block_size * g.logical_block_size;
  if (g.capacity_bytes != size && g.capacity_bytes != 0) {
    LOG(WARNING) << path << ": the last " << size - g.capacity_bytes
                 << " bytes are not a whole block and stay unused";
  }
  g.max_io_bytes = 512 * 1024;
  g.discard_granularity = g.physical_block_size;
  g.max_discard_bytes = 1u << 30;
  g.max_write_zeroes_bytes = 1u << 30;
  g.volatile_cache = true;
  g.fua = true;
  if (absl::Status s = ValidateGeometry(g); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  return file;
}

FileBackend::~FileBackend() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

absl::StatusOr<std::unique_ptr<QueueBackend>> FileBackend::OpenQueue(const QueueContext& context) {
  return std::make_unique<FileQueue>(fd_, context);
}

absl::Status FileBackend::Flush() {
  if (fdatasync(fd_) != 0) {
    return absl::InternalError(absl::StrCat("fdatasync ", path_, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

std::string FileBackend::Describe() const { return absl::StrCat("file ", path_); }

}  // namespace isergw::ublk
