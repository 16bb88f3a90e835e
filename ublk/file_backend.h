// A local file or block device as the volume, with O_DIRECT I/O through the
// queue's io_uring (no thread pool, no page cache in between). FLUSH is
// fdatasync, FUA writes are RWF_DSYNC, DISCARD punches a hole and
// WRITE_ZEROES zeroes the range (fallocate), all as async io_uring ops.
#ifndef UBLK_FILE_BACKEND_H_
#define UBLK_FILE_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ublk/backend.h"

namespace isergw::ublk {

struct FileBackendOptions {
  // 0: the backing device's logical block size (512 for regular files).
  uint32_t logical_block_size = 0;
  // Refuse to fall back to buffered I/O where O_DIRECT is not supported.
  bool require_direct = false;
};

class FileBackend final : public Backend {
 public:
  // Opens `path` read-write. Errors: NotFound, PermissionDenied,
  // InvalidArgument for an empty file or a bad block size.
  static absl::StatusOr<std::unique_ptr<FileBackend>> Open(const std::string& path,
                                                           const FileBackendOptions& options = {});
  ~FileBackend() override;

  const Geometry& geometry() const override { return geometry_; }
  absl::StatusOr<std::unique_ptr<QueueBackend>> OpenQueue(const QueueContext& context) override;
  absl::Status Flush() override;
  std::string Describe() const override;

  int fd() const { return fd_; }
  bool direct() const { return direct_; }
  bool is_block_device() const { return block_device_; }

 private:
  FileBackend() = default;

  std::string path_;
  int fd_ = -1;
  bool direct_ = false;
  bool block_device_ = false;
  Geometry geometry_;
};

}  // namespace isergw::ublk

#endif  // UBLK_FILE_BACKEND_H_
