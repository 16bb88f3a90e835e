// isergw bench URL: a closed-loop load generator on one session, the way
// fio's io_uring engine or libiscsi's iscsi-perf measure: `qd` commands
// always in flight, each resubmitted as soon as it completes.
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/status.h"
#include "iser_client/transport/iser_transport.h"
#include "tools/cli/flags.h"
#include "tools/cli/latency_histogram.h"
#include "tools/cli/report.h"
#include "tools/cli/size.h"
#include "tools/cli/target.h"
#include "tools/verbs/verbs.h"

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

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

class BenchRun {
 public:
  struct Slot {
    iscsi::ScsiRequest request;
    BenchRun* run;
    uint64_t started_ns;
  };

  BenchRun(OpenedLun& lun, Pattern pattern, uint32_t block_bytes, int queue_depth)
      : lun_(lun),
        session_(lun.initiator->session()),
        pattern_(pattern),
        block_bytes_(block_bytes),
        blocks_per_io_(block_bytes / lun.info.block_size),
        slots_(static_cast<size_t>(queue_depth)),
        rng_(0x9e3779b97f4a7c15ull) {
    buffer_.reset(static_cast<uint8_t*>(aligned_alloc(4096, size_t{block_bytes} * slots_.size())));
    // Writes carry incompressible data, as real workloads do.
    std::mt19937_64 fill(1);
    auto* words = reinterpret_cast<uint64_t*>(buffer_.get());
    for (size_t i = 0; i < size_t{block_bytes} * slots_.size() / 8; ++i) words[i] = fill();
    positions_ = lun.info.block_count / blocks_per_io_;
  }

  absl::Status Run(absl::Duration warmup, absl::Duration measure) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      s.run = this;
      s.request.lun = lun_.lun_field;
      s.request.buffer = buffer_.get() + i * block_bytes_;
      s.request.length = block_bytes_;
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
    uint64_t doorbells_start = session_.transport()->stats().doorbells;
    uint64_t registrations_start = MemoryRegistrations();
    absl::Time measure_start = absl::Now();
    const uint64_t measure_end = loop->now_ns() + ns(measure);
    ran = loop->RunUntil([&] { return !error_.ok() || loop->now_ns() >= measure_end; });
    if (!ran.ok()) return ran;
    elapsed_ = absl::Now() - measure_start;
    cpu_seconds_ = CpuSeconds() - cpu_start;
    ios_ = histogram_.count();
    // A session that lost its connection has no transport any more.
    const iscsi::Transport* transport = session_.transport();
    doorbells_ = transport == nullptr ? 0 : transport->stats().doorbells - doorbells_start;
    registrations_ = MemoryRegistrations() - registrations_start;
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
  uint64_t registrations() const { return registrations_; }
  // ibv_reg_mr calls of the iSER transport so far (0 over TCP).
  uint64_t MemoryRegistrations() const {
    auto* iser = dynamic_cast<const iscsi::IserTransport*>(session_.transport());
    return iser == nullptr ? 0 : iser->iser_stats().memory_registrations;
  }

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
    bytes_ += block_bytes_;
    if (stopping_ || !error_.ok()) return;
    if (absl::Status st = Issue(slot); !st.ok() && error_.ok()) error_ = st;
  }

  absl::Status Issue(Slot& slot) {
    bool write = pattern_ == Pattern::kWrite || pattern_ == Pattern::kRandWrite;
    if (pattern_ == Pattern::kRandRw) {
      write = static_cast<int>(Next() % 100) >= FLAGS_rwmixread;
    }
    uint64_t position;
    if (pattern_ == Pattern::kRead || pattern_ == Pattern::kWrite) {
      position = cursor_++ % positions_;
    } else {
      position = Next() % positions_;
    }
    uint64_t lba = position * blocks_per_io_;
    scsi::Cdb cdb = write ? scsi::MakeWrite(lba, blocks_per_io_, false)
                          : scsi::MakeRead(lba, blocks_per_io_, false);
    memcpy(slot.request.cdb, cdb.bytes, cdb.length);
    slot.request.cdb_length = cdb.length;
    slot.request.direction = write ? iscsi::DataDirection::kWrite : iscsi::DataDirection::kRead;
    slot.started_ns = uring::EventLoop::MonotonicNs();
    ++in_flight_;
    absl::Status st = session_.Submit(&slot.request);
    if (!st.ok()) --in_flight_;
    return st;
  }

  uint64_t Next() {  // xorshift64*: the generator must not show up in a profile
    rng_ ^= rng_ >> 12;
    rng_ ^= rng_ << 25;
    rng_ ^= rng_ >> 27;
    return rng_ * 0x2545f4914f6cdd1dull;
  }

  OpenedLun& lun_;
  iscsi::Session& session_;
  Pattern pattern_;
  uint32_t block_bytes_;
  uint32_t blocks_per_io_;
  std::vector<Slot> slots_;
  std::unique_ptr<uint8_t, decltype(&free)> buffer_{nullptr, &free};
  uint64_t positions_ = 1;
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
  absl::Duration elapsed_;
  double cpu_seconds_ = 0;
};

}  // namespace

int RunBench(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError(
            "usage: isergw bench URL [--rw randread] [--bs 4k] [--qd 32] [--seconds 10] [--json]"),
        iscsi::FailureKind::kInvalidArgument));
  }
  auto pattern = ParsePattern(FLAGS_rw);
  if (!pattern.ok()) return ReportFailure(pattern.status());
  auto block_bytes = ParseByteSize(FLAGS_bs, "--bs");
  if (!block_bytes.ok()) return ReportFailure(block_bytes.status());
  if (FLAGS_qd < 1 || FLAGS_qd > 1024 || FLAGS_seconds < 1) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError("--qd must be 1..1024 and --seconds at least 1"),
        iscsi::FailureKind::kInvalidArgument));
  }
  auto lun = OpenLun(args[0], static_cast<uint32_t>(FLAGS_qd));
  if (!lun.ok()) return ReportFailure(lun.status());
  const iscsi::LunInfo& info = lun->info;
  if (*block_bytes % info.block_size != 0 || *block_bytes > (64u << 20) ||
      (info.max_transfer_bytes() != 0 && *block_bytes > info.max_transfer_bytes()) ||
      *block_bytes > info.size_bytes()) {
    return ReportFailure(iscsi::WithFailure(
        absl::InvalidArgumentError(absl::StrFormat(
            "--bs %u must be a multiple of the LUN's %u-byte blocks and at most its max transfer "
            "(%u bytes) and size",
            *block_bytes, info.block_size, info.max_transfer_bytes())),
        iscsi::FailureKind::kInvalidArgument));
  }

  BenchRun run(*lun, *pattern, static_cast<uint32_t>(*block_bytes), FLAGS_qd);
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
    PrintJson({{"url", lun->display},
               {"transport", iscsi::TransportKindName(lun->transport)},
               {"rw", FLAGS_rw},
               {"bs", *block_bytes},
               {"qd", FLAGS_qd},
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
               {"mr_registrations", run.registrations()}});
    return 0;
  }
  printf("%s %s bs=%llu qd=%d: %.0f IOPS, %.1f MB/s\n", lun->display.c_str(), FLAGS_rw.c_str(),
         static_cast<unsigned long long>(*block_bytes), FLAGS_qd, iops, mbps);
  printf("latency us: p50 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", us(h.Percentile(0.5)),
         us(h.Percentile(0.99)), us(h.Percentile(0.999)), us(h.max()));
  printf("cpu: %.2f us per I/O\n", cpu_us_per_io);
  return 0;
}

}  // namespace isergw::cli
