#ifndef TOOLS_CLI_PROGRESS_H_
#define TOOLS_CLI_PROGRESS_H_

#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace isergw::cli {

// A one-line progress bar on stderr, drawn only when both stdout and stderr
// are terminals (a pipe or a log file gets none), at most 10 times a second.
class Progress {
 public:
  Progress(uint64_t total_bytes, bool wanted);
  void Update(uint64_t done_bytes);
  void Finish();

 private:
  void Draw(uint64_t done_bytes);

  uint64_t total_;
  bool enabled_;
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
  uint64_t last_done_ = 0;
};

}  // namespace isergw::cli

#endif  // TOOLS_CLI_PROGRESS_H_
