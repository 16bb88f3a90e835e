// isergw copy SRC DST: streams an image onto a LUN or off it, several
// commands in flight. Either side is a local file (or block device) and the
// other an iscsi:// or iser:// URL.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/sense.h"
#include "iser_client/scsi/status.h"
#include "tools/cli/flags.h"
#include "tools/cli/progress.h"
#include "tools/cli/report.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"

namespace isergw::cli {
namespace {

constexpr int kSlots = 8;
constexpr uint32_t kDefaultChunk = 1 << 20;

bool IsUrl(const std::string& s) {
  return absl::StartsWith(s, "iscsi://") || absl::StartsWith(s, "iser://");
}

bool AllZero(const uint8_t* p, size_t n) {
  const auto* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < n / 8; ++i) {
    if (w[i] != 0) return false;
  }
  for (size_t i = n & ~size_t{7}; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

absl::Status Errno(const std::string& what, const std::string& path) {
  return iscsi::WithFailure(
      absl::UnavailableError(absl::StrCat(what, " ", path, ": ", strerror(errno))),
      iscsi::FailureKind::kIo);
}

// One copy between a file descriptor and a LUN, in chunks handed out in
// order to kSlots slots; each slot carries one chunk from one side to the
// other and then takes the next.
class CopyJob {
 public:
  enum class Direction { kToLun, kFromLun };
  struct Slot {
    iscsi::ScsiRequest request;
    CopyJob* job;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint8_t* buffer = nullptr;
  };

  CopyJob(OpenedLun& lun, int fd, Direction direction, uint64_t bytes, bool regular_file)
      : lun_(lun), fd_(fd), direction_(direction), total_(bytes), regular_file_(regular_file) {
    const iscsi::LunInfo& info = lun.info;
    chunk_ = kDefaultChunk;
    if (info.max_transfer_bytes() != 0) {
      chunk_ = static_cast<uint32_t>(std::min<uint64_t>(chunk_, info.max_transfer_bytes()));
    }
    chunk_ -= chunk_ % info.block_size;
    buffers_.reset(static_cast<uint8_t*>(aligned_alloc(4096, size_t{chunk_} * kSlots)));
    zero_block_.assign(info.block_size, 0);
  }

  absl::Status Run(Progress& progress) {
    for (int i = 0; i < kSlots; ++i) {
      slots_[i].job = this;
      slots_[i].buffer = buffers_.get() + size_t{chunk_} * static_cast<size_t>(i);
      slots_[i].request.context = &slots_[i];
      slots_[i].request.lun = lun_.lun_field;
      slots_[i].request.done = &CopyJob::OnDone;
      StartNext(slots_[i]);
    }
    absl::Status ran = lun_.loop->RunUntil([&] {
      progress.Update(done_bytes_);
      return in_flight_ == 0;
    });
    if (!error_.ok()) return error_;
    if (!ran.ok()) return ran;
    if (direction_ == Direction::kFromLun) {
      if (regular_file_ && ftruncate(fd_, static_cast<off_t>(total_)) != 0) {
        return Errno("cannot set the size of", "the destination");
      }
      if (fsync(fd_) != 0) return Errno("cannot flush", "the destination");
    } else {
      // The LUN may cache writes: make them durable before saying "copied".
      auto synced = lun_.initiator->Execute(lun_.lun_field, scsi::MakeSynchronizeCache(),
                                            iscsi::DataDirection::kNone, {});
      if (!synced.ok()) return synced.status();
    }
    return absl::OkStatus();
  }

  uint64_t done_bytes() const { return done_bytes_; }
  uint64_t zero_bytes() const { return zero_bytes_; }

 private:
  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
    auto* slot = static_cast<Slot*>(request->context);
    slot->job->Completed(*slot, result);
  }

  void Fail(absl::Status status) {
    if (error_.ok()) error_ = std::move(status);
  }

  // Takes the next chunk for `slot` and starts its first half (the file
  // read, or the LUN read).
  void StartNext(Slot& slot) {
    if (!error_.ok() || next_offset_ >= total_) return;
    slot.offset = next_offset_;
    slot.length = static_cast<uint32_t>(std::min<uint64_t>(chunk_, total_ - next_offset_));
    next_offset_ += slot.length;
    const uint32_t block = lun_.info.block_size;
    const uint32_t padded = (slot.length + block - 1) / block * block;
    const uint64_t lba = slot.offset / block;
    if (direction_ == Direction::kFromLun) {
      Submit(slot, scsi::MakeRead(lba, padded / block, false), iscsi::DataDirection::kRead,
             slot.buffer, padded);
      return;
    }
    ssize_t got = pread(fd_, slot.buffer, slot.length, static_cast<off_t>(slot.offset));
    if (got != static_cast<ssize_t>(slot.length)) {
      return Fail(got < 0 ? Errno("cannot read", "the source")
                          : iscsi::WithFailure(absl::DataLossError("the source file shrank"),
                                               iscsi::FailureKind::kIo));
    }
    memset(slot.buffer + slot.length, 0, padded - slot.length);
    if (FLAGS_sparse && AllZero(slot.buffer, padded) &&
        SubmitZeroRange(slot, lba, padded / block)) {
      zero_bytes_ += slot.length;
      return;
    }
    Submit(slot, scsi::MakeWrite(lba, padded / block, false), iscsi::DataDirection::kWrite,
           slot.buffer, padded);
  }

  // Zeroes a range on the LUN without sending the zeros, where the LUN can
  // promise they read back as zeros. Returns false to write them instead.
  bool SubmitZeroRange(Slot& slot, uint64_t lba, uint32_t blocks) {
    const iscsi::LunInfo& info = lun_.info;
    if (!info.supports_write_same_unmap()) return false;
    uint64_t max_ws = info.block_limits ? info.block_limits->max_write_same_length : 0;
    if (max_ws != 0 && blocks > max_ws) return false;
    scsi::WriteSameFlags flags;
    flags.unmap = true;
    Submit(slot, scsi::MakeWriteSame16(lba, blocks, flags), iscsi::DataDirection::kWrite,
           zero_block_.data(), info.block_size);
    return true;
  }

  void Submit(Slot& slot, const scsi::Cdb& cdb, iscsi::DataDirection direction, uint8_t* buffer,
              uint32_t length) {
    memcpy(slot.request.cdb, cdb.bytes, cdb.length);
    slot.request.cdb_length = cdb.length;
    slot.request.direction = direction;
    slot.request.buffer = buffer;
    slot.request.length = length;
    absl::Status st = lun_.initiator->session().Submit(&slot.request);
    if (!st.ok()) return Fail(st);
    ++in_flight_;
  }

  void Completed(Slot& slot, const iscsi::ScsiResult& result) {
    --in_flight_;
    if (!result.status.ok()) return Fail(result.status);
    if (result.scsi_status != 0) {
      std::optional<scsi::SenseData> sense;
      if (auto decoded = scsi::DecodeSense(result.sense); decoded.ok()) sense = *decoded;
      return Fail(iscsi::WithFailure(scsi::ToStatus(result.scsi_status, sense ? &*sense : nullptr),
                                     iscsi::FailureKind::kIo));
    }
    if (direction_ == Direction::kFromLun) {
      bool hole = FLAGS_sparse && regular_file_ && AllZero(slot.buffer, slot.length);
      if (hole) {
        zero_bytes_ += slot.length;
      } else if (pwrite(fd_, slot.buffer, slot.length, static_cast<off_t>(slot.offset)) !=
                 static_cast<ssize_t>(slot.length)) {
        return Fail(Errno("cannot write", "the destination"));
      }
    }
    done_bytes_ += slot.length;
    StartNext(slot);
  }

  OpenedLun& lun_;
  int fd_;
  Direction direction_;
  uint64_t total_;
  bool regular_file_;
  uint32_t chunk_;
  std::unique_ptr<uint8_t, decltype(&free)> buffers_{nullptr, &free};
  std::vector<uint8_t> zero_block_;
  Slot slots_[kSlots];
  uint64_t next_offset_ = 0;
  uint64_t done_bytes_ = 0;
  uint64_t zero_bytes_ = 0;
  int in_flight_ = 0;
  absl::Status error_;
};

}  // namespace

int RunCopy(const std::vector<std::string>& args) {
  if (args.size() != 2 || IsUrl(args[0]) == IsUrl(args[1])) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError("usage: isergw copy SRC DST, one a local file and the other an "
                                   "iscsi:// or iser:// URL"),
        iscsi::FailureKind::kInvalidArgument));
  }
  const bool to_lun = IsUrl(args[1]);
  const std::string& url = to_lun ? args[1] : args[0];
  const std::string& path = to_lun ? args[0] : args[1];

  int fd = to_lun ? open(path.c_str(), O_RDONLY | O_CLOEXEC)
                  : open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ReportFailure(
        iscsi::WithFailure(Errno("cannot open", path), iscsi::FailureKind::kInvalidArgument));
  }
  struct stat st;
  fstat(fd, &st);
  const bool regular = S_ISREG(st.st_mode);

  auto lun = OpenLun(url, kSlots);
  if (!lun.ok()) {
    close(fd);
    return ReportFailure(lun.status());
  }
  uint64_t bytes = lun->info.size_bytes();
  if (to_lun) {
    uint64_t source_size = static_cast<uint64_t>(st.st_size);
    if (S_ISBLK(st.st_mode)) {
      off_t end = lseek(fd, 0, SEEK_END);
      source_size = end < 0 ? 0 : static_cast<uint64_t>(end);
    }
    if (source_size > bytes) {
      close(fd);
      return ReportFailure(iscsi::WithFailure(
          absl::OutOfRangeError(absl::StrFormat("%s (%u bytes) does not fit on the LUN (%u bytes)",
                                                path, source_size, bytes)),
          iscsi::FailureKind::kInvalidArgument));
    }
    bytes = source_size;
  } else if (regular && ftruncate(fd, 0) != 0) {
    close(fd);
    return ReportFailure(Errno("cannot truncate", path));
  }

  Progress progress(bytes, FLAGS_progress);
  CopyJob job(*lun, fd, to_lun ? CopyJob::Direction::kToLun : CopyJob::Direction::kFromLun, bytes,
              regular);
  absl::Time start = absl::Now();
  absl::Status status = job.Run(progress);
  progress.Finish();
  close(fd);
  if (!status.ok()) {
    return ReportFailure(status, absl::StrFormat("copy failed after %u of %u bytes were copied",
                                                 job.done_bytes(), bytes));
  }
  (void)lun->initiator->Logout();
  double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  printf("copied %llu bytes (%llu of them zero%s) in %.2f s, %.1f MB/s\n",
         static_cast<unsigned long long>(job.done_bytes()),
         static_cast<unsigned long long>(job.zero_bytes()), FLAGS_sparse ? ", not transferred" : "",
         seconds, seconds > 0 ? static_cast<double>(job.done_bytes()) / seconds / 1e6 : 0.0);
  return 0;
}

}  // namespace isergw::cli
