// The steady-state data path allocates nothing: a counting global operator
// new around a loop of submits and completions.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/unit/session/fake_target.h"

// Replacing the global operator new/delete with malloc/free is the point of
// this file; GCC's optimizer flags the pairing it cannot see through.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace isergw::iscsi::testing {
namespace {

TEST(SessionNoAllocTest, SteadyStateReadsAndWritesDoNotAllocate) {
  TargetLoginAnswers answers;
  answers.overrides = {{"MaxRecvDataSegmentLength", "1024"},
                       {"FirstBurstLength", "4096"},
                       {"ImmediateData", "Yes"},
                       {"InitialR2T", "Yes"}};
  SessionHarness h;
  ASSERT_TRUE(h.LoginOk(answers));
  h.wire().record = false;
  TestCommand read(DataDirection::kRead, 2048);
  TestCommand write(DataDirection::kWrite, 2048);
  static const uint8_t kData[1024] = {1, 2, 3};

  auto one_round = [&]() {
    // The target keeps the CmdSN window open ahead of us.
    h.exp_cmd_sn += 2;
    h.max_cmd_sn += 2;
    // READ: two Data-In, status in the second.
    (void)h.session().Submit(&read.request);
    uint32_t itt = PeekItt(ConstBhsBytes(h.wire().last_bhs.data(), kBhsSize));
    h.Deliver(h.DataIn(itt, 0, 0), std::span<const uint8_t>(kData, 1024));
    DataInHeader last = h.DataIn(itt, 1, 1024);
    last.final = true;
    last.status_present = true;
    last.stat_sn = h.NextStatSn();
    h.Deliver(last, std::span<const uint8_t>(kData, 1024));
    // WRITE: immediate data, one R2T for the rest, then the response.
    (void)h.session().Submit(&write.request);
    itt = PeekItt(ConstBhsBytes(h.wire().last_bhs.data(), kBhsSize));
    h.Deliver(h.R2t(itt, 0x10, 1024, 1024));
    h.Deliver(h.Response(itt));
  };
  for (int i = 0; i < 8; ++i) one_round();  // warm up
  int reads_before = read.done_calls;
  int writes_before = write.done_calls;
  uint64_t sends_before = h.wire().send_calls;

  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 1000; ++i) one_round();
  g_counting = false;

  EXPECT_EQ(g_allocations.load(), 0u);
  EXPECT_EQ(read.done_calls - reads_before, 1000);
  EXPECT_EQ(write.done_calls - writes_before, 1000);
  EXPECT_TRUE(read.status.ok());
  EXPECT_TRUE(write.status.ok());
  // Per round: READ command, WRITE command (immediate data), one Data-Out.
  EXPECT_EQ(h.wire().send_calls - sends_before, 3000u);
  EXPECT_EQ(h.session().state(), Session::State::kFullFeature);
}

}  // namespace
}  // namespace isergw::iscsi::testing
