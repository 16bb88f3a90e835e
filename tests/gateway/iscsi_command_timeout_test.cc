// A command that times out on a live session (tgtd on 127.0.0.1 ran it, its
// answer was lost on the way back): ABORT TASK, then, as the kernel's SCSI
// error handler does, the same command again on the same session, up to
// five times; only then does the block layer get ETIMEDOUT. The session is
// never dropped for it.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/time/clock.h"
#include "gateway/iscsi_backend.h"
#include "gateway/iscsi_queue.h"
#include "gtest/gtest.h"
#include "tests/gateway/queue_test_support.h"
#include "tests/gateway/reply_dropping_proxy.h"
#include "tests/integration/it_support.h"

namespace isergw::gateway {
namespace {

using testing::FillRandom;
using testing::ReadFileBytes;

constexpr uint64_t kLunBytes = 4 << 20;
constexpr uint16_t kDepth = 4;
constexpr uint32_t kLen = 64 * 1024;
constexpr char kIqn[] = "iqn.2024-01.org.isergw.test:cmd-timeout";

std::vector<uint8_t> LunPattern() {
  std::vector<uint8_t> bytes(kLunBytes);
  FillRandom(bytes.data(), bytes.size(), 77);
  return bytes;
}

class IscsiCommandTimeoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = testing::MakeBackingFile("cmd-timeout.img", kLunBytes);
    const std::vector<uint8_t> pattern = LunPattern();
    FILE* file = fopen(backing_.c_str(), "r+b");
    ASSERT_NE(file, nullptr);
    ASSERT_EQ(fwrite(pattern.data(), 1, pattern.size(), file), pattern.size());
    ASSERT_EQ(fclose(file), 0);
    ASSERT_TRUE(target_.Start().ok());
    ASSERT_TRUE(target_.AddTarget(1, kIqn).ok());
    ASSERT_TRUE(target_.AddFileLun(1, 1, backing_).ok());
    ASSERT_TRUE(target_.AllowAll(1).ok());
    auto proxy = testing::ReplyDroppingProxy::Start(target_.port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = std::move(*proxy);
    loop_ = testing::NewLoop();

    iscsi::InitiatorOptions options = testing::OptionsFor(target_, kIqn);
    options.endpoint.port = proxy_->port();
    options.session.command_timeout = absl::Seconds(1);
    options.session.task_mgmt_timeout = absl::Seconds(5);
    auto backend = IscsiBackend::Open(options, 1);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    auto queue = backend_->OpenQueue(QueueContextFor(*backend_, 0, kDepth, loop_.get(), &sink_));
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_.reset(static_cast<IscsiQueue*>(queue->release()));
  }
  void TearDown() override {
    queue_.reset();
    if (loop_) testing::DrainLoop(loop_.get());
    backend_.reset();
    proxy_.reset();
    testing::RemoveBackingFile(backing_);
  }

  // Reads kLen at `offset` into tag 0's buffer; the block layer's result.
  int32_t Read(uint64_t offset, absl::Duration limit) {
    ublk::IoRequest io;
    io.op = ublk::IoOp::kRead;
    io.tag = 0;
    io.offset = offset;
    io.length = kLen;
    io.buffer = queue_->TagBuffer(0);
    memset(io.buffer, 0, kLen);
    sink_.results.erase(0);
    queue_->Submit(io);
    (void)loop_->RunUntil([&] { return sink_.results.count(0) > 0; }, absl::Now() + limit);
    return sink_.results.count(0) ? sink_.results[0] : 0;
  }
  std::vector<uint8_t> TagBytes() {
    auto* p = static_cast<uint8_t*>(queue_->TagBuffer(0));
    return {p, p + kLen};
  }
  const PublishedSessionCounters& counters() { return *backend_->sessions().at(0).counters; }
  // Counters are published once a second: waits for the aborts to show.
  uint64_t Aborts(uint64_t expect) {
    (void)loop_->RunUntil([&] { return counters().aborts.load() >= expect; },
                          absl::Now() + absl::Seconds(3));
    return counters().aborts.load();
  }

  std::string backing_;
  testing::Tgtd target_;
  std::unique_ptr<testing::ReplyDroppingProxy> proxy_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<IscsiBackend> backend_;
  RecordingSink sink_;
  std::unique_ptr<IscsiQueue> queue_;
};

TEST_F(IscsiCommandTimeoutTest, AbortedReadIsIssuedAgainOnTheSameSessionAndReturnsTheData) {
  proxy_->LoseAnswersToReads(1);
  ASSERT_EQ(Read(5 * kLen, absl::Seconds(20)), static_cast<int32_t>(kLen));
  EXPECT_EQ(proxy_->lost(), 1) << "no answer was lost: the test proves nothing";
  EXPECT_EQ(TagBytes(), ReadFileBytes(backing_, 5 * kLen, kLen));
  EXPECT_EQ(Aborts(1), 1u);
  EXPECT_EQ(counters().reconnects.load(), 0u) << "a command timeout must not drop the session";
  EXPECT_EQ(queue_->path_state(), PathState::kLive);
}

TEST_F(IscsiCommandTimeoutTest, ReadThatNeverAnswersFailsWithETIMEDOUTAfterFiveRetries) {
  proxy_->LoseAnswersToReads(1000);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Read(2 * kLen, absl::Seconds(60)), -ETIMEDOUT);
  // Six attempts, each a one-second timeout seen by a half-second tick.
  EXPECT_GE(absl::Now() - start, absl::Seconds(6));
  EXPECT_EQ(proxy_->lost(), 6);
  EXPECT_EQ(Aborts(6), 6u);
  EXPECT_EQ(counters().reconnects.load(), 0u);
  EXPECT_EQ(queue_->path_state(), PathState::kLive);

  // The session still serves, and the failed reads changed nothing.
  proxy_->LoseAnswersToReads(0);
  ASSERT_EQ(Read(2 * kLen, absl::Seconds(10)), static_cast<int32_t>(kLen));
  const std::vector<uint8_t> expect = LunPattern();
  EXPECT_EQ(ReadFileBytes(backing_, 0, kLunBytes), expect);
  EXPECT_EQ(TagBytes(), std::vector<uint8_t>(expect.begin() + 2 * kLen, expect.begin() + 3 * kLen));
}

}  // namespace
}  // namespace isergw::gateway
