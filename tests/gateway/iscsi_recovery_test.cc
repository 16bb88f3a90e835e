// Session recovery of an IscsiQueue against a real target (tgtd on
// 127.0.0.1) that dies, stalls, comes back, fails over or is replaced by
// another LUN. Every case checks what the block layer got for each request
// and what the target's backing files hold.
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gateway/iscsi_backend.h"
#include "gateway/iscsi_queue.h"
#include "gtest/gtest.h"
#include "tests/gateway/queue_test_support.h"
#include "tests/integration/it_support.h"

namespace isergw::gateway {
namespace {

using testing::FillRandom;
using testing::ReadFileBytes;

constexpr uint64_t kLunBytes = 16 << 20;
constexpr uint16_t kDepth = 16;
constexpr uint32_t kLen = 64 * 1024;
constexpr char kIqn[] = "iqn.2024-01.org.isergw.test:recovery";

// A tgtd serving target kIqn, LUN 1 backed by `path`, with an identity of
// its own when `serial` is set; on `port` (0: a free one).
std::unique_ptr<testing::Tgtd> StartTarget(const std::string& path, uint16_t port,
                                           const std::string& serial = "") {
  auto tgtd = std::make_unique<testing::Tgtd>();
  // A killed tgtd's port can stay busy for a moment.
  absl::Status started;
  for (int i = 0; i < 50; ++i) {
    started = tgtd->Start(port);
    if (started.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(started.ok()) << started;
  EXPECT_TRUE(tgtd->AddTarget(1, kIqn).ok());
  EXPECT_TRUE(tgtd->AddFileLun(1, 1, path).ok());
  if (!serial.empty()) {
    EXPECT_TRUE(tgtd->Admin(absl::StrCat("--op update --mode logicalunit --tid 1 --lun 1 --params "
                                         "scsi_sn=",
                                         serial, ",scsi_id=", serial))
                    .ok());
  }
  EXPECT_TRUE(tgtd->AllowAll(1).ok());
  return tgtd;
}

class IscsiRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backing_ = testing::MakeBackingFile("recovery.img", kLunBytes);
    target_ = StartTarget(backing_, 0);
    loop_ = testing::NewLoop();
  }
  void TearDown() override {
    queue_.reset();
    testing::DrainLoop(loop_.get());
    backend_.reset();
    target_.reset();
    second_.reset();
    testing::RemoveBackingFile(backing_);
    if (!other_backing_.empty()) testing::RemoveBackingFile(other_backing_);
  }

  void Open(const PathOptions& paths, absl::Duration nop_interval = absl::Seconds(5)) {
    iscsi::InitiatorOptions options = testing::OptionsFor(*target_, kIqn);
    options.session.nop_interval = nop_interval;
    options.session.nop_timeout = nop_interval * 2;
    auto backend = IscsiBackend::Open(options, 1, paths);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    const ublk::QueueContext context = QueueContextFor(*backend_, 0, kDepth, loop_.get(), &sink_);
    auto queue = backend_->OpenQueue(context);
    ASSERT_TRUE(queue.ok()) << queue.status();
    queue_.reset(static_cast<IscsiQueue*>(queue->release()));
  }

  ublk::IoRequest Io(ublk::IoOp op, uint16_t tag, uint64_t offset, uint32_t length) {
    ublk::IoRequest io;
    io.op = op;
    io.tag = tag;
    io.offset = offset;
    io.length = length;
    io.buffer = queue_->TagBuffer(tag);
    return io;
  }

  // Fills tag `tag`'s buffer with the pattern of `seed` and submits a write
  // of it at tag * kLen.
  void SubmitWrite(uint16_t tag, uint64_t seed) {
    FillRandom(static_cast<uint8_t*>(queue_->TagBuffer(tag)), kLen, seed);
    sink_.results.erase(tag);
    queue_->Submit(Io(ublk::IoOp::kWrite, tag, uint64_t{tag} * kLen, kLen));
  }

  bool RunUntil(const std::function<bool()>& done, absl::Duration limit) {
    return loop_->RunUntil(done, absl::Now() + limit).ok() && done();
  }
  bool AllDone(size_t n) { return sink_.results.size() >= n; }

  const PublishedSessionCounters& counters() {
    auto sessions = backend_->sessions();
    EXPECT_EQ(sessions.size(), 1u);
    return *sessions.at(0).counters;
  }
  PathState path() const { return queue_->path_state(); }

  void ExpectBackingHolds(const std::string& path, uint16_t tag, uint64_t seed) {
    std::vector<uint8_t> expect(kLen);
    FillRandom(expect.data(), kLen, seed);
    EXPECT_EQ(ReadFileBytes(path, uint64_t{tag} * kLen, kLen), expect) << "tag " << tag;
  }

  std::string backing_, other_backing_;
  std::unique_ptr<testing::Tgtd> target_, second_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<IscsiBackend> backend_;
  RecordingSink sink_;
  std::unique_ptr<IscsiQueue> queue_;
};

TEST_F(IscsiRecoveryTest, TargetRestartMidWritesReissuesThemAndEveryWriteLands) {
  Open({});
  const uint16_t port = target_->port();
  for (uint16_t tag = 0; tag < kDepth; ++tag) SubmitWrite(tag, 1000 + tag);
  // Some writes are on the wire, some at the target, some answered.
  (void)loop_->RunOnce(false);
  target_->Kill();
  ASSERT_TRUE(RunUntil([&] { return path() != PathState::kLive; }, absl::Seconds(10)));
  EXPECT_LT(sink_.results.size(), kDepth) << "nothing was left to reissue: the test proves nothing";
  absl::SleepFor(absl::Seconds(1));
  target_ = StartTarget(backing_, port);

  ASSERT_TRUE(RunUntil([&] { return AllDone(kDepth); }, absl::Seconds(30)));
  for (uint16_t tag = 0; tag < kDepth; ++tag) {
    EXPECT_EQ(sink_.results[tag], static_cast<int32_t>(kLen)) << "tag " << tag;
    ExpectBackingHolds(backing_, tag, 1000 + tag);
  }
  EXPECT_EQ(path(), PathState::kLive);
  (void)loop_->RunUntil([] { return false; }, absl::Now() + absl::Milliseconds(1100));
  EXPECT_EQ(counters().reconnects.load(), 1u);
  EXPECT_GE(counters().reissued.load(), 1u);
  EXPECT_EQ(counters().failed_while_down.load(), 0u);
  EXPECT_EQ(counters().outage_since_unix_ms.load(), 0);
  EXPECT_NE(backend_->sessions()[0].last_error, "");
  EXPECT_TRUE(sink_.failure.ok());

  // And the new session serves reads of what was written.
  sink_.results.clear();
  queue_->Submit(Io(ublk::IoOp::kRead, 3, 5 * kLen, kLen));
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)));
  ASSERT_EQ(sink_.results[3], static_cast<int32_t>(kLen));
  std::vector<uint8_t> expect(kLen);
  FillRandom(expect.data(), kLen, 1005);
  EXPECT_EQ(memcmp(queue_->TagBuffer(3), expect.data(), kLen), 0);
}

TEST_F(IscsiRecoveryTest, AStalledTargetIsFoundByPingAndTheSessionReplaced) {
  Open({}, /*nop_interval=*/absl::Seconds(1));
  SubmitWrite(0, 7);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)));
  // The connection stays up but nothing answers: only a ping can tell.
  ASSERT_EQ(kill(target_->pid(), SIGSTOP), 0);
  SubmitWrite(1, 8);
  ASSERT_TRUE(RunUntil([&] { return path() != PathState::kLive; }, absl::Seconds(10)));
  EXPECT_NE(backend_->sessions()[0].last_error.find("NOP-Out"), std::string::npos)
      << backend_->sessions()[0].last_error;
  ASSERT_EQ(kill(target_->pid(), SIGCONT), 0);
  ASSERT_TRUE(RunUntil([&] { return AllDone(2); }, absl::Seconds(30)));
  EXPECT_EQ(sink_.results[1], static_cast<int32_t>(kLen));
  ExpectBackingHolds(backing_, 0, 7);
  ExpectBackingHolds(backing_, 1, 8);
  EXPECT_EQ(path(), PathState::kLive);
}

TEST_F(IscsiRecoveryTest, PastTheReplacementTimeoutIoFailsWithEioThenWorksAgain) {
  PathOptions paths;
  paths.replacement_timeout = absl::Seconds(2);
  Open(paths);
  const uint16_t port = target_->port();
  SubmitWrite(2, 21);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)));
  const std::vector<uint8_t> before = ReadFileBytes(backing_, 0, kLunBytes);

  target_->Kill();
  const absl::Time killed = absl::Now();
  sink_.results.clear();
  queue_->Submit(Io(ublk::IoOp::kRead, 0, 0, kLen));
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)))
      << "a queued read must fail once the replacement timeout passes, not hang";
  EXPECT_EQ(sink_.results[0], -EIO);
  const absl::Duration waited = sink_.completed_at[0] - killed;
  EXPECT_GE(waited, absl::Milliseconds(1500)) << "it must wait for the session first";
  EXPECT_LE(waited, absl::Seconds(5));

  // Past the timeout new requests fail at once, writes included.
  sink_.results.clear();
  const absl::Time submitted = absl::Now();
  SubmitWrite(1, 99);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(2)));
  EXPECT_EQ(sink_.results[1], -EIO);
  EXPECT_LE(sink_.completed_at[1] - submitted, absl::Milliseconds(500));
  EXPECT_GE(counters().failed_while_down.load(), 2u);
  EXPECT_NE(counters().outage_since_unix_ms.load(), 0);

  // The target returns: the queue reconnects by itself and serves again.
  target_ = StartTarget(backing_, port);
  ASSERT_TRUE(RunUntil([&] { return path() == PathState::kLive; }, absl::Seconds(20)));
  EXPECT_EQ(ReadFileBytes(backing_, 0, kLunBytes), before) << "a failed write changed the LUN";
  sink_.results.clear();
  SubmitWrite(1, 100);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)));
  EXPECT_EQ(sink_.results[1], static_cast<int32_t>(kLen));
  ExpectBackingHolds(backing_, 1, 100);
  ExpectBackingHolds(backing_, 2, 21);
}

TEST_F(IscsiRecoveryTest, RaisingTheTimeoutLiveKeepsIoWaiting) {
  PathOptions paths;
  paths.replacement_timeout = absl::Seconds(1);
  Open(paths);
  const uint16_t port = target_->port();
  backend_->recovery().set_replacement_timeout(absl::Seconds(60));  // `isergw set`
  target_->Kill();
  SubmitWrite(4, 44);
  (void)loop_->RunUntil([] { return false; }, absl::Now() + absl::Seconds(3));
  EXPECT_TRUE(sink_.results.empty()) << "the write failed under the old 1 s timeout";
  target_ = StartTarget(backing_, port);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(20)));
  EXPECT_EQ(sink_.results[4], static_cast<int32_t>(kLen));
  ExpectBackingHolds(backing_, 4, 44);
}

TEST_F(IscsiRecoveryTest, ADifferentLunAtTheAddressStopsTheQueueAndGetsNoWrite) {
  Open({});
  const uint16_t port = target_->port();
  SubmitWrite(0, 5);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)));
  const std::vector<uint8_t> before = ReadFileBytes(backing_, 0, kLunBytes);

  // The same target name and LUN number at the same portal, but another
  // disk (another serial and device id): a re-provisioned target.
  target_->Kill();
  other_backing_ = testing::MakeBackingFile("other.img", kLunBytes);
  sink_.results.clear();
  SubmitWrite(1, 6);
  target_ = StartTarget(other_backing_, port, "OTHERDISK1");

  ASSERT_TRUE(RunUntil([&] { return !sink_.failure.ok(); }, absl::Seconds(20)));
  EXPECT_NE(sink_.failure.message().find("a different LUN answers at 127.0.0.1:"),
            std::string::npos)
      << sink_.failure;
  EXPECT_NE(sink_.failure.message().find("WWN"), std::string::npos) << sink_.failure;
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(5)));
  EXPECT_EQ(sink_.results[1], -EIO);
  EXPECT_EQ(path(), PathState::kStopped);
  EXPECT_EQ(ReadFileBytes(other_backing_, 0, kLunBytes), std::vector<uint8_t>(kLunBytes, 0))
      << "the queued write reached the other LUN";
  EXPECT_EQ(ReadFileBytes(backing_, 0, kLunBytes), before);
  // And nothing more goes anywhere.
  sink_.results.clear();
  SubmitWrite(2, 7);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(2)));
  EXPECT_EQ(sink_.results[2], -EIO);
  EXPECT_EQ(ReadFileBytes(other_backing_, 0, kLunBytes), std::vector<uint8_t>(kLunBytes, 0));
}

TEST_F(IscsiRecoveryTest, FailsOverToTheNextPortalWhenOneDies) {
  // A second portal of the same target: another tgtd exporting the same
  // backing file with the same identity (as a dual-controller array would).
  second_ = StartTarget(backing_, 0);
  PathOptions paths;
  paths.more_portals = {iscsi::Endpoint{"127.0.0.1", second_->port()}};
  Open(paths);
  EXPECT_EQ(backend_->sessions()[0].portal, absl::StrCat("127.0.0.1:", target_->port()));
  for (uint16_t tag = 0; tag < kDepth / 2; ++tag) SubmitWrite(tag, 300 + tag);
  (void)loop_->RunOnce(false);
  target_->Kill();  // and it stays dead
  for (uint16_t tag = kDepth / 2; tag < kDepth; ++tag) SubmitWrite(tag, 300 + tag);
  ASSERT_TRUE(RunUntil([&] { return AllDone(kDepth); }, absl::Seconds(30)));
  for (uint16_t tag = 0; tag < kDepth; ++tag) {
    EXPECT_EQ(sink_.results[tag], static_cast<int32_t>(kLen)) << "tag " << tag;
    ExpectBackingHolds(backing_, tag, 300 + tag);
  }
  EXPECT_EQ(backend_->sessions()[0].portal, absl::StrCat("127.0.0.1:", second_->port()));
}

TEST_F(IscsiRecoveryTest, SpreadQueuesStartAtDifferentPortals) {
  second_ = StartTarget(backing_, 0);
  PathOptions paths;
  paths.more_portals = {iscsi::Endpoint{"127.0.0.1", second_->port()}};
  paths.spread_queues = true;
  // tgtd lists only its own portal: discovery adds nothing it already has.
  paths.discover_portals = true;
  auto backend = IscsiBackend::Open(testing::OptionsFor(*target_, kIqn), 1, paths);
  ASSERT_TRUE(backend.ok()) << backend.status();
  backend_ = std::move(*backend);
  ASSERT_EQ(backend_->portals().size(), 2u) << FormatPortalList(backend_->portals());
  std::vector<std::unique_ptr<ublk::QueueBackend>> queues;
  for (uint16_t q = 0; q < 2; ++q) {
    const ublk::QueueContext context = QueueContextFor(*backend_, q, 4, loop_.get(), &sink_);
    auto queue = backend_->OpenQueue(context);
    ASSERT_TRUE(queue.ok()) << queue.status();
    queues.push_back(std::move(*queue));
  }
  auto sessions = backend_->sessions();
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0].portal, absl::StrCat("127.0.0.1:", target_->port()));
  EXPECT_EQ(sessions[1].portal, absl::StrCat("127.0.0.1:", second_->port()));
  queues.clear();
}

TEST_F(IscsiRecoveryTest, AttachFindsALivePortalWhenTheFirstIsDown) {
  second_ = StartTarget(backing_, 0);
  const uint16_t dead = testing::FreeTcpPort();
  iscsi::InitiatorOptions options = testing::OptionsFor(*target_, kIqn);
  options.endpoint.port = dead;
  PathOptions paths;
  paths.more_portals = {iscsi::Endpoint{"127.0.0.1", second_->port()}};
  auto backend = IscsiBackend::Open(options, 1, paths);
  ASSERT_TRUE(backend.ok()) << backend.status();
  backend_ = std::move(*backend);
  EXPECT_EQ(backend_->portals().size(), 2u);
  // The queues log in at the live portal too, and serve.
  const ublk::QueueContext context = QueueContextFor(*backend_, 0, kDepth, loop_.get(), &sink_);
  auto queue = backend_->OpenQueue(context);
  ASSERT_TRUE(queue.ok()) << queue.status();
  queue_.reset(static_cast<IscsiQueue*>(queue->release()));
  EXPECT_EQ(backend_->sessions()[0].portal, absl::StrCat("127.0.0.1:", second_->port()));
  SubmitWrite(0, 77);
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(10)));
  EXPECT_EQ(sink_.results[0], static_cast<int32_t>(kLen));
  ExpectBackingHolds(backing_, 0, 77);
}

TEST_F(IscsiRecoveryTest, AQueueWhoseFirstPortalIsDownLogsInAtTheNext) {
  // The probe got in at the first portal, which then died before the queue
  // opened (a device being created while a controller fails).
  second_ = StartTarget(backing_, 0);
  PathOptions paths;
  paths.more_portals = {iscsi::Endpoint{"127.0.0.1", second_->port()}};
  auto backend = IscsiBackend::Open(testing::OptionsFor(*target_, kIqn), 1, paths);
  ASSERT_TRUE(backend.ok()) << backend.status();
  backend_ = std::move(*backend);
  target_->Kill();
  auto queue = backend_->OpenQueue(QueueContextFor(*backend_, 0, kDepth, loop_.get(), &sink_));
  ASSERT_TRUE(queue.ok()) << queue.status();
  queue_.reset(static_cast<IscsiQueue*>(queue->release()));
  EXPECT_EQ(backend_->sessions()[0].portal, absl::StrCat("127.0.0.1:", second_->port()));
}

// As a ublk device runs them: each queue on its own thread and loop, with
// `status` reading the published state from another thread meanwhile.
TEST_F(IscsiRecoveryTest, QueuesOnTheirOwnThreadsEachRecoverTheirOwnSession) {
  auto backend = IscsiBackend::Open(testing::OptionsFor(*target_, kIqn), 1);
  ASSERT_TRUE(backend.ok()) << backend.status();
  backend_ = std::move(*backend);
  const uint16_t port = target_->port();
  constexpr int kQueues = 2;
  std::atomic<int> submitted{0};
  std::atomic<bool> target_back{false};
  std::vector<std::map<uint16_t, int32_t>> results(kQueues);
  std::vector<std::thread> threads;
  for (int q = 0; q < kQueues; ++q) {
    threads.emplace_back([&, q] {
      auto loop = testing::NewLoop();
      RecordingSink sink;
      const ublk::QueueContext context =
          QueueContextFor(*backend_, static_cast<uint16_t>(q), kDepth, loop.get(), &sink);
      auto queue = backend_->OpenQueue(context);
      ASSERT_TRUE(queue.ok()) << queue.status();
      for (uint16_t tag = 0; tag < kDepth; ++tag) {
        auto* buffer = static_cast<uint8_t*>((*queue)->TagBuffer(tag));
        FillRandom(buffer, kLen, 500 + q * kDepth + tag);
        ublk::IoRequest io;
        io.op = ublk::IoOp::kWrite;
        io.tag = tag;
        io.offset = uint64_t(q * kDepth + tag) * kLen;
        io.length = kLen;
        io.buffer = buffer;
        (*queue)->Submit(io);
      }
      ++submitted;
      (void)loop->RunUntil([&] { return sink.results.size() == kDepth && target_back.load(); },
                           absl::Now() + absl::Seconds(40));
      results[q] = sink.results;
      queue->reset();
      testing::DrainLoop(loop.get());
    });
  }
  while (submitted.load() < kQueues) absl::SleepFor(absl::Milliseconds(1));
  target_->Kill();
  absl::SleepFor(absl::Milliseconds(500));
  for (int i = 0; i < 20; ++i) (void)backend_->sessions();  // `status` meanwhile
  target_ = StartTarget(backing_, port);
  target_back = true;
  for (std::thread& t : threads) t.join();
  for (int q = 0; q < kQueues; ++q) {
    ASSERT_EQ(results[q].size(), kDepth) << "queue " << q;
    for (uint16_t tag = 0; tag < kDepth; ++tag) {
      EXPECT_EQ(results[q][tag], static_cast<int32_t>(kLen)) << "queue " << q << " tag " << tag;
      std::vector<uint8_t> expect(kLen);
      FillRandom(expect.data(), kLen, 500 + q * kDepth + tag);
      EXPECT_EQ(ReadFileBytes(backing_, uint64_t(q * kDepth + tag) * kLen, kLen), expect);
    }
  }
  auto sessions = backend_->sessions();
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_NE(sessions[0].isid, sessions[1].isid) << "each queue is a session of its own";
}

TEST_F(IscsiRecoveryTest, PathsBoundToAnInterfaceUseItOrSayWhyNot) {
  iscsi::InitiatorOptions options = testing::OptionsFor(*target_, kIqn);
  options.endpoint.iface = "lo";
  auto on_lo = IscsiBackend::Open(options, 1);
  ASSERT_TRUE(on_lo.ok()) << on_lo.status();
  EXPECT_EQ(FormatPath((*on_lo)->portals()[0]), absl::StrCat("127.0.0.1:", target_->port(), "@lo"));
  options.endpoint.iface = "nosuchif0";
  auto nowhere = IscsiBackend::Open(options, 1);
  ASSERT_FALSE(nowhere.ok());
  EXPECT_NE(nowhere.status().message().find("network interface 'nosuchif0'"), std::string::npos)
      << nowhere.status();
}

TEST_F(IscsiRecoveryTest, GivingUpFailsQueuedIoAtOnce) {
  Open({});
  target_->Kill();
  SubmitWrite(3, 1);
  ASSERT_TRUE(RunUntil([&] { return path() != PathState::kLive; }, absl::Seconds(10)));
  (void)loop_->RunUntil([] { return false; }, absl::Now() + absl::Milliseconds(300));
  EXPECT_TRUE(sink_.results.empty());
  backend_->recovery().give_up.store(true);  // the volume is being detached
  ASSERT_TRUE(RunUntil([&] { return AllDone(1); }, absl::Seconds(1)));
  EXPECT_EQ(sink_.results[3], -EIO);
}

}  // namespace
}  // namespace isergw::gateway
