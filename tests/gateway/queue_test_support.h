// What the gateway tests use to drive IscsiQueues as a frontend would.
#ifndef TESTS_GATEWAY_QUEUE_TEST_SUPPORT_H_
#define TESTS_GATEWAY_QUEUE_TEST_SUPPORT_H_

#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "ublk/backend.h"

namespace isergw::gateway {

// Records each tag's result, when it came, and a queue failure.
struct RecordingSink : ublk::QueueSink {
  std::map<uint16_t, int32_t> results;
  std::map<uint16_t, absl::Time> completed_at;
  absl::Status failure;
  void CompleteIo(uint16_t tag, int32_t result) override {
    results[tag] = result;
    completed_at[tag] = absl::Now();
  }
  void FailQueue(absl::Status why) override { failure = why; }
};

inline ublk::QueueContext QueueContextFor(const ublk::Backend& backend, uint16_t queue_id,
                                          uint16_t depth, uring::EventLoop* loop,
                                          ublk::QueueSink* sink) {
  ublk::QueueContext context;
  context.queue_id = queue_id;
  context.depth = depth;
  context.buffer_bytes = backend.geometry().max_io_bytes;
  context.loop = loop;
  context.sink = sink;
  return context;
}

}  // namespace isergw::gateway

#endif  // TESTS_GATEWAY_QUEUE_TEST_SUPPORT_H_
