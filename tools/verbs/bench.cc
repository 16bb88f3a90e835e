// isergw bench URL: a closed-loop load generator on one session, the way
// fio's io_uring engine or libiscsi's iscsi-perf measure: `qd` commands
// always in flight, each resubmitted as soon as it completes.
//
// --bs MIN-MAX draws each command's size from that range (multiples of the
// LUN's block). --verify checks data instead of measuring speed: random
// writes of a pattern whose every block carries its LBA and a seed, then
// reads of the whole area back, in random order and sizes, each written
// block compared with what it must hold.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/status.h"
#include "tools/cli/flags.h"
#include "tools/cli/latency_histogram.h"
#include "tools/cli/rdma_flags.h"
#include "tools/cli/report.h"
#include "tools/cli/size.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"

DEFINE_bool(verify, false,
            "bench: write a pattern (each block headed by its LBA and a seed) at random offsets "
            "and sizes for --seconds, then read the area back and check every written block");
DEFINE_uint64(verify_seed, 0, "bench --verify: pattern seed (0: one from the clock)");

namespace isergw::cli {
namespace {

enum class Pattern { kRead, kWrite, kRandRead, kRandWrite, kRandRw };

absl::StatusOr<Pattern> ParsePattern(const std::string& rw) {
  if (rw == "read") return Pattern::kRead;
  if (rw == "write") return Pattern::kWrite;
  if (rw == "randread") return Pattern::kRandRead;
  if (rw == "randwrite") return Pattern::kRandWrite;
  if (rw == "randrw") return Pattern::kRandRw;
  return iscsi::WithFailure(
      absl::InvalidArgumentError(
          absl::StrCat("--rw must be read, write, randread, randwrite or randrw, not '", rw, "'")),
      iscsi::FailureKind::kInvalidArgument);
}

// --bs: one size ("4k") or a range ("512-1m").
struct SizeRange {
  uint64_t min = 0;
  uint64_t max = 0;
};

absl::StatusOr<SizeRange> ParseSizeRange(const std::string& text) {
  const size_t dash = text.find('-');
  if (dash == std::string::npos) {
    auto size = ParseByteSize(text, "--bs");
    if (!size.ok()) return size.status();
    return SizeRange{*size, *size};
  }
  auto lo = ParseByteSize(text.substr(0, dash), "--bs");
  if (!lo.ok()) return lo.status();
  auto hi = ParseByteSize(text.substr(dash + 1), "--bs");
  if (!hi.ok()) return hi.status();
  if (*lo > *hi) {
    return iscsi::WithFailure(absl::InvalidArgumentError(absl::StrCat(
                                  "--bs ", text, ": the range's low end is above its high end")),
                              iscsi::FailureKind::kInvalidArgument);
  }
  return SizeRange{*lo, *hi};
}

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// xorshift64*: the generator must not show up in a profile.
uint64_t NextRandom(uint64_t& state) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

// The verify pattern of one block: its LBA and the seed (little endian) in
// the first 16 bytes, then words that depend on both, so a block written to
// the wrong place, a stale block and a torn one all differ from it.
void FillBlock(uint8_t* block, uint32_t size, uint64_t lba, uint64_t seed) {
  memcpy(block, &lba, 8);
  memcpy(block + 8, &seed, 8);
  uint64_t state = (lba * 0x9e3779b97f4a7c15ull) ^ seed ^ 0x5bd1e995ull;
  if (state == 0) state = 1;
  for (uint32_t off = 16; off + 8 <= size; off += 8) {
    const uint64_t word = NextRandom(state);
    memcpy(block + off, &word, 8);
  }
}

// Counters of the session's transport (zero once the connection is gone).
iscsi::TransportStats TransportCounters(const iscsi::Session& session) {
  const iscsi::Transport* transport = session.transport();
  return transport == nullptr ? iscsi::TransportStats() : transport->stats();
}

class BenchRun {
 public:
  struct Slot {
    iscsi::ScsiRequest request;
    BenchRun* run;
    uint64_t started_ns;
    uint8_t* buffer;
  };

  BenchRun(OpenedLun& lun, Pattern pattern, SizeRange sizes, int queue_depth)
      : lun_(lun),
        session_(lun.initiator->session()),
        pattern_(pattern),
        block_size_(lun.info.block_size),
        min_blocks_(static_cast<uint32_t>(sizes.min / block_size_)),
        max_blocks_(static_cast<uint32_t>(sizes.max / block_size_)),
        slots_(static_cast<size_t>(queue_depth)),
        rng_(0x9e3779b97f4a7c15ull) {
    const size_t slot_bytes = size_t{max_blocks_} * block_size_;
    buffer_.reset(static_cast<uint8_t*>(aligned_alloc(4096, slot_bytes * slots_.size())));
    // Writes carry incompressible data, as real workloads do.
    std::mt19937_64 fill(1);
    auto* words = reinterpret_cast<uint64_t*>(buffer_.get());
    for (size_t i = 0; i < slot_bytes * slots_.size() / 8; ++i) words[i] = fill();
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].buffer = buffer_.get() + i * slot_bytes;
  }

  absl::Status Run(absl::Duration warmup, absl::Duration measure) {
    for (Slot& s : slots_) {
      s.run = this;
      s.request.lun = lun_.lun_field;
      s.request.buffer = s.buffer;
      s.request.context = &s;
      s.request.done = &BenchRun::OnDone;
      if (absl::Status st = Issue(s); !st.ok()) return st;
    }
    uring::EventLoop* loop = lun_.loop.get();
    // The loop reads the clock once per pass anyway: compare against that.
    auto ns = [](absl::Duration d) { return static_cast<uint64_t>(absl::ToInt64Nanoseconds(d)); };
    const uint64_t warm_end = loop->now_ns() + ns(warmup);
    absl::Status ran = loop->RunUntil([&] { return !error_.ok() || loop->now_ns() >= warm_end; });
    if (!ran.ok()) return ran;
    histogram_ = LatencyHistogram();
    bytes_ = 0;
    double cpu_start = CpuSeconds();
    const iscsi::TransportStats start = TransportCounters(session_);
    absl::Time measure_start = absl::Now();
    const uint64_t measure_end = loop->now_ns() + ns(measure);
    ran = loop->RunUntil([&] { return !error_.ok() || loop->now_ns() >= measure_end; });
    if (!ran.ok()) return ran;
    elapsed_ = absl::Now() - measure_start;
    cpu_seconds_ = CpuSeconds() - cpu_start;
    ios_ = histogram_.count();
    // A session that lost its connection has no transport any more.
    const iscsi::TransportStats end = TransportCounters(session_);
    doorbells_ = end.doorbells - std::min(end.doorbells, start.doorbells);
    registrations_ = end.mr_registrations - std::min(end.mr_registrations, start.mr_registrations);
    windows_bound_ = end.windows_bound - std::min(end.windows_bound, start.windows_bound);
    remote_invalidations_ =
        end.remote_invalidations - std::min(end.remote_invalidations, start.remote_invalidations);
    local_invalidations_ =
        end.local_invalidations - std::min(end.local_invalidations, start.local_invalidations);
    // Let what is in flight finish, so that the session ends cleanly.
    stopping_ = true;
    ran = loop->RunUntil([&] { return in_flight_ == 0; }, absl::Now() + absl::Seconds(30));
    if (!error_.ok()) return error_;
    return ran;
  }

  const LatencyHistogram& histogram() const { return histogram_; }
  double seconds() const { return absl::ToDoubleSeconds(elapsed_); }
  uint64_t ios() const { return ios_; }
  uint64_t bytes() const { return bytes_; }
  double cpu_seconds() const { return cpu_seconds_; }
  uint64_t doorbells() const { return doorbells_; }
  // Memory registrations during the measured interval (0 over TCP).
  uint64_t registrations() const { return registrations_; }
  // Strict mode: memory windows bound, and invalidated by the target or by us.
  uint64_t windows_bound() const { return windows_bound_; }
  uint64_t remote_invalidations() const { return remote_invalidations_; }
  uint64_t local_invalidations() const { return local_invalidations_; }

 private:
  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
    auto* slot = static_cast<Slot*>(request->context);
    slot->run->Complete(*slot, result);
  }

  void Complete(Slot& slot, const iscsi::ScsiResult& result) {
    --in_flight_;
    if (!result.status.ok()) {
      if (error_.ok()) error_ = result.status;
      return;
    }
    if (result.scsi_status != 0) {
      if (error_.ok()) {
        error_ = iscsi::WithFailure(scsi::ToStatus(result.scsi_status, nullptr),
                                    iscsi::FailureKind::kIo);
      }
      return;
    }
    histogram_.Record(uring::EventLoop::MonotonicNs() - slot.started_ns);
    bytes_ += slot.request.length;
    if (stopping_ || !error_.ok()) return;
    if (absl::Status st = Issue(slot); !st.ok() && error_.ok()) error_ = st;
  }

  absl::Status Issue(Slot& slot) {
    bool write = pattern_ == Pattern::kWrite || pattern_ == Pattern::kRandWrite;
    if (pattern_ == Pattern::kRandRw) {
      write = static_cast<int>(NextRandom(rng_) % 100) >= FLAGS_rwmixread;
    }
    uint32_t blocks = min_blocks_;
    if (max_blocks_ > min_blocks_) {
      blocks += static_cast<uint32_t>(NextRandom(rng_) % (max_blocks_ - min_blocks_ + 1));
    }
    const uint64_t positions = lun_.info.block_count - blocks + 1;
    uint64_t lba;
    if (pattern_ == Pattern::kRead || pattern_ == Pattern::kWrite) {
      if (cursor_ + blocks > lun_.info.block_count) cursor_ = 0;
      lba = cursor_;
      cursor_ += blocks;
    } else if (min_blocks_ == max_blocks_) {
      lba = NextRandom(rng_) % (lun_.info.block_count / blocks) * blocks;  // aligned to the size
    } else {
      lba = NextRandom(rng_) % positions;
    }
    scsi::Cdb cdb =
        write ? scsi::MakeWrite(lba, blocks, false) : scsi::MakeRead(lba, blocks, false);
    memcpy(slot.request.cdb, cdb.bytes, cdb.length);
    slot.request.cdb_length = cdb.length;
    slot.request.length = blocks * block_size_;
    slot.request.direction = write ? iscsi::DataDirection::kWrite : iscsi::DataDirection::kRead;
    slot.started_ns = uring::EventLoop::MonotonicNs();
    ++in_flight_;
    absl::Status st = session_.Submit(&slot.request);
    if (!st.ok()) --in_flight_;
    return st;
  }

  OpenedLun& lun_;
  iscsi::Session& session_;
  Pattern pattern_;
  uint32_t block_size_;
  uint32_t min_blocks_;
  uint32_t max_blocks_;
  std::vector<Slot> slots_;
  std::unique_ptr<uint8_t, decltype(&free)> buffer_{nullptr, &free};
  uint64_t cursor_ = 0;
  uint64_t rng_;
  int in_flight_ = 0;
  bool stopping_ = false;
  absl::Status error_;
  LatencyHistogram histogram_;
  uint64_t bytes_ = 0;
  uint64_t ios_ = 0;
  uint64_t doorbells_ = 0;
  uint64_t registrations_ = 0;
  uint64_t windows_bound_ = 0;
  uint64_t remote_invalidations_ = 0;
  uint64_t local_invalidations_ = 0;
  absl::Duration elapsed_;
  double cpu_seconds_ = 0;
};

// --verify: random pattern writes for a while, then every block of the
// area read back (in random order and sizes) and checked.
class VerifyRun {
 public:
  // The area checked: the LUN's start, at most this much (the written-block
  // bitmap stays small).
  static constexpr uint64_t kMaxAreaBytes = uint64_t{4} << 30;

  struct Result {
    uint64_t writes = 0, reads = 0;
    uint64_t bytes_written = 0, bytes_read = 0;
    uint64_t blocks_written = 0;  // distinct blocks
    uint64_t blocks_checked = 0;
    uint64_t mismatches = 0;
    std::string first_mismatch;
    double write_seconds = 0, read_seconds = 0;
  };

  VerifyRun(OpenedLun& lun, SizeRange sizes, int queue_depth, uint64_t seed)
      : lun_(lun),
        session_(lun.initiator->session()),
        block_size_(lun.info.block_size),
        area_blocks_(std::min(lun.info.block_count, kMaxAreaBytes / lun.info.block_size)),
        min_blocks_(static_cast<uint32_t>(sizes.min / block_size_)),
        max_blocks_(static_cast<uint32_t>(sizes.max / block_size_)),
        seed_(seed),
        rng_(seed * 0x9e3779b97f4a7c15ull | 1),
        slots_(static_cast<size_t>(queue_depth)),
        written_((area_blocks_ + 63) / 64, 0) {
    const size_t slot_bytes = size_t{max_blocks_} * block_size_;
    buffer_.reset(static_cast<uint8_t*>(aligned_alloc(4096, slot_bytes * slots_.size())));
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      s.run = this;
      s.request.lun = lun_.lun_field;
      s.request.buffer = buffer_.get() + i * slot_bytes;
      s.request.context = &s;
      s.request.done = &VerifyRun::OnDone;
    }
  }

  uint64_t area_blocks() const { return area_blocks_; }

  absl::StatusOr<Result> Run(absl::Duration write_time) {
    uring::EventLoop* loop = lun_.loop.get();
    // Write phase.
    absl::Time start = absl::Now();
    const uint64_t write_end =
        loop->now_ns() + static_cast<uint64_t>(absl::ToInt64Nanoseconds(write_time));
    writing_ = true;
    for (Slot& s : slots_) {
      if (absl::Status st = IssueWrite(s); !st.ok()) return st;
    }
    absl::Status ran = loop->RunUntil([&] {
      if (loop->now_ns() >= write_end) stopping_ = true;
      return !error_.ok() || (stopping_ && in_flight_ == 0);
    });
    if (!ran.ok()) return ran;
    if (!error_.ok()) return error_;
    result_.write_seconds = absl::ToDoubleSeconds(absl::Now() - start);

    // Read phase: the area cut into chunks of random sizes, read in random order.
    chunks_.clear();
    for (uint64_t lba = 0; lba < area_blocks_;) {
      uint64_t blocks = RandomBlocks();
      blocks = std::min(blocks, area_blocks_ - lba);
      chunks_.emplace_back(lba, static_cast<uint32_t>(blocks));
      lba += blocks;
    }
    for (size_t i = chunks_.size(); i > 1; --i) {
      std::swap(chunks_[i - 1], chunks_[NextRandom(rng_) % i]);
    }
    start = absl::Now();
    writing_ = false;
    stopping_ = false;
    next_chunk_ = 0;
    for (Slot& s : slots_) {
      if (next_chunk_ == chunks_.size()) break;
      if (absl::Status st = IssueRead(s); !st.ok()) return st;
    }
    ran = loop->RunUntil([&] { return !error_.ok() || in_flight_ == 0; });
    if (!ran.ok()) return ran;
    if (!error_.ok()) return error_;
    result_.read_seconds = absl::ToDoubleSeconds(absl::Now() - start);
    for (uint64_t word : written_) result_.blocks_written += __builtin_popcountll(word);
    return result_;
  }

 private:
  struct Slot {
    iscsi::ScsiRequest request;
    VerifyRun* run;
    uint64_t lba;
    uint32_t blocks;
  };

  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
    auto* slot = static_cast<Slot*>(request->context);
    slot->run->Complete(*slot, result);
  }

  uint32_t RandomBlocks() {
    uint32_t blocks = min_blocks_;
    if (max_blocks_ > min_blocks_) {
      blocks += static_cast<uint32_t>(NextRandom(rng_) % (max_blocks_ - min_blocks_ + 1));
    }
    return blocks;
  }

  bool Written(uint64_t lba) const { return (written_[lba / 64] >> (lba % 64)) & 1; }

  void Complete(Slot& slot, const iscsi::ScsiResult& result) {
    --in_flight_;
    if (!result.status.ok() || result.scsi_status != 0) {
      if (error_.ok()) {
        error_ = !result.status.ok()
                     ? result.status
                     : iscsi::WithFailure(scsi::ToStatus(result.scsi_status, nullptr),
                                          iscsi::FailureKind::kIo);
      }
      return;
    }
    if (writing_) {
      ++result_.writes;
      result_.bytes_written += slot.request.length;
      for (uint64_t b = slot.lba; b < slot.lba + slot.blocks; ++b) {
        written_[b / 64] |= uint64_t{1} << (b % 64);
      }
      if (!stopping_) {
        if (absl::Status st = IssueWrite(slot); !st.ok() && error_.ok()) error_ = st;
      }
      return;
    }
    ++result_.reads;
    result_.bytes_read += slot.request.length;
    Check(slot);
    if (next_chunk_ < chunks_.size()) {
      if (absl::Status st = IssueRead(slot); !st.ok() && error_.ok()) error_ = st;
    }
  }

  void Check(const Slot& slot) {
    for (uint32_t i = 0; i < slot.blocks; ++i) {
      const uint64_t lba = slot.lba + i;
      if (!Written(lba)) continue;
      ++result_.blocks_checked;
      const uint8_t* got = slot.request.buffer + size_t{i} * block_size_;
      FillBlock(expected_.data(), block_size_, lba, seed_);
      if (memcmp(got, expected_.data(), block_size_) == 0) continue;
      if (++result_.mismatches == 1) {
        uint64_t got_lba, got_seed;
        memcpy(&got_lba, got, 8);
        memcpy(&got_seed, got + 8, 8);
        size_t at = 0;
        while (at < block_size_ && got[at] == expected_[at]) ++at;
        result_.first_mismatch = absl::StrFormat(
            "block %u (read in a %u-block command at LBA %u): first wrong byte at offset %u; "
            "its header says LBA %u seed %u, expected LBA %u seed %u",
            lba, slot.blocks, slot.lba, at, got_lba, got_seed, lba, seed_);
      }
    }
  }

  absl::Status Submit(Slot& slot, bool write) {
    scsi::Cdb cdb = write ? scsi::MakeWrite(slot.lba, slot.blocks, false)
                          : scsi::MakeRead(slot.lba, slot.blocks, false);
    memcpy(slot.request.cdb, cdb.bytes, cdb.length);
    slot.request.cdb_length = cdb.length;
    slot.request.length = slot.blocks * block_size_;
    slot.request.direction = write ? iscsi::DataDirection::kWrite : iscsi::DataDirection::kRead;
    ++in_flight_;
    absl::Status st = session_.Submit(&slot.request);
    if (!st.ok()) --in_flight_;
    return st;
  }

  absl::Status IssueWrite(Slot& slot) {
    slot.blocks = RandomBlocks();
    slot.lba = NextRandom(rng_) % (area_blocks_ - slot.blocks + 1);
    for (uint32_t i = 0; i < slot.blocks; ++i) {
      FillBlock(slot.request.buffer + size_t{i} * block_size_, block_size_, slot.lba + i, seed_);
    }
    return Submit(slot, true);
  }

  absl::Status IssueRead(Slot& slot) {
    slot.lba = chunks_[next_chunk_].first;
    slot.blocks = chunks_[next_chunk_].second;
    ++next_chunk_;
    memset(slot.request.buffer, 0xa5, size_t{slot.blocks} * block_size_);  // no stale pass
    return Submit(slot, false);
  }

  OpenedLun& lun_;
  iscsi::Session& session_;
  uint32_t block_size_;
  uint64_t area_blocks_;
  uint32_t min_blocks_;
  uint32_t max_blocks_;
  uint64_t seed_;
  uint64_t rng_;
  std::vector<Slot> slots_;
  std::unique_ptr<uint8_t, decltype(&free)> buffer_{nullptr, &free};
  std::vector<uint64_t> written_;  // one bit per block of the area
  std::vector<uint8_t> expected_ = std::vector<uint8_t>(block_size_);
  std::vector<std::pair<uint64_t, uint32_t>> chunks_;  // read phase: LBA, blocks
  size_t next_chunk_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  int in_flight_ = 0;
  absl::Status error_;
  Result result_;
};

int ReportVerify(const OpenedLun& lun, const VerifyRun& run, const VerifyRun::Result& r,
                 SizeRange sizes, uint64_t seed, const iscsi::TransportStats& stats) {
  const char* verdict = r.mismatches == 0 ? "ok" : "MISMATCH";
  if (FLAGS_json) {
    PrintJson({{"url", lun.display},
               {"transport", iscsi::TransportKindName(lun.transport)},
               {"verify", verdict},
               {"seed", seed},
               {"bs_min", sizes.min},
               {"bs_max", sizes.max},
               {"qd", FLAGS_qd},
               {"area_bytes", run.area_blocks() * lun.info.block_size},
               {"writes", r.writes},
               {"reads", r.reads},
               {"bytes_written", r.bytes_written},
               {"bytes_read", r.bytes_read},
               {"blocks_written", r.blocks_written},
               {"blocks_checked", r.blocks_checked},
               {"mismatches", r.mismatches},
               {"first_mismatch", r.first_mismatch},
               {"windows_bound", stats.windows_bound},
               {"remote_invalidations", stats.remote_invalidations},
               {"local_invalidations", stats.local_invalidations},
               {"mr_registrations", stats.mr_registrations}});
  } else {
    printf("%s verify %s: seed %llu, sizes %llu..%llu bytes, qd %d\n", lun.display.c_str(), verdict,
           static_cast<unsigned long long>(seed), static_cast<unsigned long long>(sizes.min),
           static_cast<unsigned long long>(sizes.max), FLAGS_qd);
    printf("wrote %llu commands (%.1f MiB) in %.1f s; read %llu commands (%.1f MiB) in %.1f s\n",
           static_cast<unsigned long long>(r.writes),
           static_cast<double>(r.bytes_written) / 1048576, r.write_seconds,
           static_cast<unsigned long long>(r.reads), static_cast<double>(r.bytes_read) / 1048576,
           r.read_seconds);
    printf("%llu blocks written, %llu checked, %llu wrong\n",
           static_cast<unsigned long long>(r.blocks_written),
           static_cast<unsigned long long>(r.blocks_checked),
           static_cast<unsigned long long>(r.mismatches));
  }
  if (r.mismatches != 0) {
    return ReportFailure(iscsi::WithFailure(
        absl::DataLossError(absl::StrCat("verify: ", r.mismatches,
                                         " blocks read back wrong; first: ", r.first_mismatch)),
        iscsi::FailureKind::kIo));
  }
  if (r.blocks_checked == 0) {
    return ReportFailure(iscsi::WithFailure(
        absl::InternalError("verify: nothing was written, so nothing was checked"),
        iscsi::FailureKind::kIo));
  }
  return 0;
}

}  // namespace

int RunBench(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError("usage: isergw bench URL [--rw randread] [--bs 4k|MIN-MAX] "
                                   "[--qd 32] [--seconds 10] [--verify] [--json]"),
        iscsi::FailureKind::kInvalidArgument));
  }
  auto pattern = ParsePattern(FLAGS_rw);
  if (!pattern.ok()) return ReportFailure(pattern.status());
  auto sizes = ParseSizeRange(FLAGS_bs);
  if (!sizes.ok()) return ReportFailure(sizes.status());
  if (FLAGS_qd < 1 || FLAGS_qd > 1024 || FLAGS_seconds < 1) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError("--qd must be 1..1024 and --seconds at least 1"),
        iscsi::FailureKind::kInvalidArgument));
  }
  auto lun = OpenLun(args[0], static_cast<uint32_t>(FLAGS_qd));
  if (!lun.ok()) return ReportFailure(lun.status());
  const iscsi::LunInfo& info = lun->info;
  uint64_t limit = info.size_bytes();
  if (FLAGS_verify) limit = std::min(limit, VerifyRun::kMaxAreaBytes);
  for (uint64_t size : {sizes->min, sizes->max}) {
    if (size % info.block_size != 0 || size > (64u << 20) ||
        (info.max_transfer_bytes() != 0 && size > info.max_transfer_bytes()) || size > limit) {
      return ReportFailure(iscsi::WithFailure(
          absl::InvalidArgumentError(absl::StrFormat(
              "--bs %u must be a multiple of the LUN's %u-byte blocks and at most its max "
              "transfer (%u bytes) and size",
              size, info.block_size, info.max_transfer_bytes())),
          iscsi::FailureKind::kInvalidArgument));
    }
  }

  if (FLAGS_verify) {
    uint64_t seed = FLAGS_verify_seed;
    if (seed == 0) seed = static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) | 1;
    VerifyRun run(*lun, *sizes, FLAGS_qd, seed);
    auto result = run.Run(absl::Seconds(FLAGS_seconds));
    if (!result.ok()) return ReportFailure(result.status(), "bench --verify");
    const iscsi::TransportStats stats = TransportCounters(lun->initiator->session());
    (void)lun->initiator->Logout();
    return ReportVerify(*lun, run, *result, *sizes, seed, stats);
  }

  BenchRun run(*lun, *pattern, *sizes, FLAGS_qd);
  absl::Status status = run.Run(absl::Milliseconds(std::min(1000, FLAGS_seconds * 100)),
                                absl::Seconds(FLAGS_seconds));
  if (!status.ok()) return ReportFailure(status, "bench");
  (void)lun->initiator->Logout();

  const LatencyHistogram& h = run.histogram();
  double iops = static_cast<double>(run.ios()) / run.seconds();
  double mbps = static_cast<double>(run.bytes()) / run.seconds() / 1e6;
  double cpu_us_per_io =
      run.ios() == 0 ? 0 : run.cpu_seconds() * 1e6 / static_cast<double>(run.ios());
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  if (FLAGS_json) {
    PrintJson(
        {{"url", lun->display},
         {"transport", iscsi::TransportKindName(lun->transport)},
         {"rw", FLAGS_rw},
         {"bs", sizes->min == sizes->max ? nlohmann::json(sizes->min) : nlohmann::json(FLAGS_bs)},
         {"qd", FLAGS_qd},
         {"strict_rdma", FLAGS_strict_rdma},
         {"busy_poll", FLAGS_busy_poll},
         {"seconds", run.seconds()},
         {"ios", run.ios()},
         {"iops", iops},
         {"mbps", mbps},
         {"lat_mean_us", h.mean() / 1000.0},
         {"lat_p50_us", us(h.Percentile(0.50))},
         {"lat_p99_us", us(h.Percentile(0.99))},
         {"lat_p999_us", us(h.Percentile(0.999))},
         {"lat_max_us", us(h.max())},
         {"cpu_us_per_io", cpu_us_per_io},
         {"ios_per_doorbell",
          run.doorbells() == 0 ? 0.0 : static_cast<double>(run.ios()) / run.doorbells()},
         {"mr_registrations", run.registrations()},
         {"windows_bound", run.windows_bound()}});
    return 0;
  }
  const std::string bs =
      sizes->min == sizes->max ? absl::StrCat(sizes->min) : absl::StrCat(FLAGS_bs);
  printf("%s %s bs=%s qd=%d: %.0f IOPS, %.1f MB/s\n", lun->display.c_str(), FLAGS_rw.c_str(),
         bs.c_str(), FLAGS_qd, iops, mbps);
  printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", us(h.Percentile(0.5)),
         us(h.Percentile(0.99)), us(h.Percentile(0.999)), us(h.max()));
  printf("cpu: %.2f us per I/O\n", cpu_us_per_io);
  return 0;
}

}  // namespace isergw::cli
