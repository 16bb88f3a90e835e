// What a ublk queue has served: operation and byte counts, errors, requests
// in flight and a latency histogram. The queue thread is the only writer;
// anyone may read (the daemon's `status` and `list`). Every field is a
// single-writer relaxed atomic, so counting costs plain loads and stores (no
// locked instruction on the data path) and each value a reader sees is exact,
// if not consistent with the others to the request.
#ifndef UBLK_IO_STATS_H_
#define UBLK_IO_STATS_H_

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

#include "ublk/backend.h"

namespace isergw::ublk {

// Log-linear buckets over microseconds (HdrHistogram's layout): exact below
// 16 us, then each power of two split in 8, so a percentile read from the
// buckets is within 12.5% of the true value.
struct LatencyBuckets {
  static constexpr int kSubBits = 3;
  static constexpr int kLinear = 2 << kSubBits;
  static constexpr int kCount = kLinear + (40 - kSubBits - 1) * (1 << kSubBits);

  static int Index(uint64_t us) {
    if (us < kLinear) return static_cast<int>(us);
    const int msb = 63 - std::countl_zero(us);
    if (msb >= 40) return kCount - 1;
    const int shift = msb - kSubBits;
    const int sub = static_cast<int>((us >> shift) & ((1 << kSubBits) - 1));
    return kLinear + (shift - 1) * (1 << kSubBits) + sub;
  }
  // The largest value that falls into bucket `index`.
  static uint64_t UpperEdge(int index);
};

inline constexpr int kIoOpCount = 5;  // IoOp values

struct IoStatsSnapshot {
  std::array<uint64_t, kIoOpCount> ops{};  // completed, by IoOp
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  uint64_t errors = 0;
  uint64_t in_flight = 0;
  std::array<uint64_t, LatencyBuckets::kCount> latency_us{};

  uint64_t completed() const;
  // Adds `other` (another queue's snapshot).
  void Merge(const IoStatsSnapshot& other);
  // What happened between `earlier` and this snapshot (in_flight is this one's).
  IoStatsSnapshot Since(const IoStatsSnapshot& earlier) const;
  // The latency (us) below which `quantile` (0..1) of the completions fall;
  // 0 when there were none.
  uint64_t LatencyPercentileUs(double quantile) const;
};

class IoStats {
 public:
  void OnStart() { Bump(in_flight_, 1); }
  void OnComplete(IoOp op, uint32_t length, int32_t result, uint64_t latency_us) {
    Bump(in_flight_, -1);
    Bump(ops_[static_cast<int>(op)], 1);
    if (result < 0) {
      Bump(errors_, 1);
    } else if (op == IoOp::kRead) {
      Bump(bytes_read_, length);
    } else if (op == IoOp::kWrite) {
      Bump(bytes_written_, length);
    }
    Bump(latency_us_[LatencyBuckets::Index(latency_us)], 1);
  }

  IoStatsSnapshot Snapshot() const;

 private:
  // The writer is one thread: load + store, no read-modify-write.
  static void Bump(std::atomic<uint64_t>& counter, int64_t delta) {
    counter.store(counter.load(std::memory_order_relaxed) + static_cast<uint64_t>(delta),
                  std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kIoOpCount> ops_{};
  std::atomic<uint64_t> bytes_read_{0};
  std::atomic<uint64_t> bytes_written_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> in_flight_{0};
  std::array<std::atomic<uint64_t>, LatencyBuckets::kCount> latency_us_{};
};

}  // namespace isergw::ublk

#endif  // UBLK_IO_STATS_H_
