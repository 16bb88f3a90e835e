#include "iser_client/uring/event_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"

namespace isergw::uring {
namespace {

struct RecordingCompletion : Completion {
  std::vector<int32_t> results;
  void OnComplete(int32_t res, uint32_t) override { results.push_back(res); }
};

struct RecordingTimer : Timer {
  std::vector<int>* order;
  int id;
  RecordingTimer(std::vector<int>* o, int i) : order(o), id(i) {}
  void OnTimer() override { order->push_back(id); }
};

struct CountingHook : PassHook {
  int passes = 0;
  void BeforeSubmit() override { ++passes; }
};

TEST(EventLoopTest, NopCompletesThroughItsCompletion) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok()) << loop.status();
  RecordingCompletion c;
  io_uring_prep_nop((*loop)->GetSqe(&c));
  io_uring_prep_nop((*loop)->GetSqe(&c));
  ASSERT_TRUE((*loop)
                  ->RunUntil([&] { return c.results.size() == 2; }, absl::Now() + absl::Seconds(5))
                  .ok());
  EXPECT_EQ(c.results, (std::vector<int32_t>{0, 0}));
}

TEST(EventLoopTest, ReadOnSocketDeliversBytes) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  char buf[16] = {};
  RecordingCompletion c;
  io_uring_prep_recv((*loop)->GetSqe(&c), sv[0], buf, sizeof(buf), 0);
  ASSERT_TRUE((*loop)->RunOnce(false).ok());
  EXPECT_TRUE(c.results.empty());
  ASSERT_EQ(write(sv[1], "hello", 5), 5);
  ASSERT_TRUE(
      (*loop)->RunUntil([&] { return !c.results.empty(); }, absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(c.results[0], 5);
  EXPECT_STREQ(buf, "hello");
  close(sv[0]);
  close(sv[1]);
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCancelWorks) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::vector<int> order;
  RecordingTimer a(&order, 1), b(&order, 2), c(&order, 3);
  (*loop)->ArmTimer(&a, absl::Milliseconds(30));
  (*loop)->ArmTimer(&b, absl::Milliseconds(10));
  (*loop)->ArmTimer(&c, absl::Milliseconds(20));
  (*loop)->CancelTimer(&c);
  EXPECT_FALSE(c.armed());
  ASSERT_TRUE(
      (*loop)->RunUntil([&] { return order.size() == 2; }, absl::Now() + absl::Seconds(5)).ok());
  EXPECT_EQ(order, (std::vector<int>{2, 1}));
}

TEST(EventLoopTest, WaitReturnsAtTimerDeadlineWithoutCqes) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::vector<int> order;
  RecordingTimer a(&order, 7);
  (*loop)->ArmTimer(&a, absl::Milliseconds(20));
  absl::Time start = absl::Now();
  auto handled = (*loop)->RunOnce(true);
  ASSERT_TRUE(handled.ok());
  EXPECT_EQ(*handled, 0);
  EXPECT_EQ(order, std::vector<int>{7});
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(15));
}

TEST(EventLoopTest, RunUntilTimesOut) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  auto st = (*loop)->RunUntil([] { return false; }, absl::Now() + absl::Milliseconds(20));
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(EventLoopTest, PassHooksRunEveryPassUntilRemoved) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  CountingHook hook;
  (*loop)->AddPassHook(&hook);
  ASSERT_TRUE((*loop)->RunOnce(false).ok());
  ASSERT_TRUE((*loop)->RunOnce(false).ok());
  (*loop)->RemovePassHook(&hook);
  ASSERT_TRUE((*loop)->RunOnce(false).ok());
  EXPECT_EQ(hook.passes, 2);
}

// Work a caller queues between passes (through a hook's batch) must go out in
// the next pass, not after the next timer: a hook that prepares its SQE only
// when flushing must see its completion in the same wait.
TEST(EventLoopTest, HooksFlushBeforeTheWaitNotAfterIt) {
  struct QueueingHook : PassHook {
    EventLoop* loop;
    RecordingCompletion* completion;
    bool pending = true;
    void BeforeSubmit() override {
      if (!pending) return;
      pending = false;
      io_uring_prep_nop(loop->GetSqe(completion));
    }
  };
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::vector<int> order;
  RecordingTimer far(&order, 1);
  (*loop)->ArmTimer(&far, absl::Seconds(5));
  RecordingCompletion c;
  QueueingHook hook;
  hook.loop = loop->get();
  hook.completion = &c;
  (*loop)->AddPassHook(&hook);
  absl::Time start = absl::Now();
  ASSERT_TRUE((*loop)->RunOnce(true).ok());
  EXPECT_EQ(c.results.size(), 1u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  (*loop)->RemovePassHook(&hook);
  (*loop)->CancelTimer(&far);
}

TEST(EventLoopTest, FullSubmissionQueueIsFlushedNotDropped) {
  auto loop = EventLoop::Create({.entries = 8});
  ASSERT_TRUE(loop.ok());
  RecordingCompletion c;
  for (int i = 0; i < 40; ++i) io_uring_prep_nop((*loop)->GetSqe(&c));
  ASSERT_TRUE((*loop)
                  ->RunUntil([&] { return c.results.size() == 40; }, absl::Now() + absl::Seconds(5))
                  .ok());
}

}  // namespace
}  // namespace isergw::uring
