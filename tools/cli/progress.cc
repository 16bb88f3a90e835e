#include "tools/cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace isergw::cli {

Progress::Progress(uint64_t total_bytes, bool wanted)
    : total_(total_bytes),
      enabled_(wanted && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO)),
      start_(absl::Now()) {}

void Progress::Update(uint64_t done_bytes) {
  last_done_ = done_bytes;
  if (!enabled_) return;
  absl::Time now = absl::Now();
  if (now - last_draw_ < absl::Milliseconds(100)) return;
  last_draw_ = now;
  Draw(done_bytes);
}

void Progress::Draw(uint64_t done_bytes) {
  constexpr int kWidth = 30;
  double fraction =
      total_ == 0 ? 1.0 : static_cast<double>(done_bytes) / static_cast<double>(total_);
  int filled = static_cast<int>(fraction * kWidth);
  char bar[kWidth + 1];
  for (int i = 0; i < kWidth; ++i) bar[i] = i < filled ? '=' : ' ';
  bar[kWidth] = 0;
  double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
  double mbps = seconds > 0 ? static_cast<double>(done_bytes) / seconds / 1e6 : 0;
  fprintf(stderr, "\r[%s] %3.0f%%  %.1f / %.1f MiB  %.1f MB/s ", bar, fraction * 100,
          static_cast<double>(done_bytes) / (1 << 20), static_cast<double>(total_) / (1 << 20),
          mbps);
  fflush(stderr);
}

void Progress::Finish() {
  if (!enabled_) return;
  Draw(last_done_);
  fprintf(stderr, "\n");
}

}  // namespace isergw::cli
