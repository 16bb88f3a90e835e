// A QueueSink that records what a queue backend reports.
#ifndef TESTS_UNIT_UBLK_FAKE_SINK_H_
#define TESTS_UNIT_UBLK_FAKE_SINK_H_

#include <map>

#include "ublk/backend.h"

namespace isergw::ublk {

class FakeSink final : public QueueSink {
 public:
  void CompleteIo(uint16_t tag, int32_t result) override {
    results[tag] = result;
    ++completions;
  }
  void FailQueue(absl::Status why) override { failure = why; }

  std::map<uint16_t, int32_t> results;
  int completions = 0;
  absl::Status failure;
};

}  // namespace isergw::ublk

#endif  // TESTS_UNIT_UBLK_FAKE_SINK_H_
