// A session at rest and at the edges: it stays up while idle (our NOP-Out
// pings and tgtd's NOP-In pings are both answered), a short read reports its
// residual, and a thousand small commands at once all complete.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/scsi/cdb.h"
#include "tests/integration/it_support.h"

namespace isergw::testing {
namespace {

constexpr uint64_t kLunBytes = 8ull << 20;
const uint64_t kLun1 = scsi::EncodeLun(1);

class LivenessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = StartTargetWithLun(kLunBytes);
    ASSERT_TRUE(t.ok()) << t.status();
    target_ = std::move(*t);
    image_.resize(kLunBytes);
    FillRandom(image_.data(), kLunBytes, 5);
    int fd = open(target_.backing_path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, image_.data(), kLunBytes, 0), static_cast<ssize_t>(kLunBytes));
    close(fd);
    loop_ = NewLoop();
  }

  std::unique_ptr<iscsi::Initiator> Login(iscsi::InitiatorOptions options) {
    auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
    EXPECT_TRUE(initiator.ok()) << initiator.status();
    if (!initiator.ok()) return nullptr;
    auto info = iscsi::ProbeLun(**initiator, 1);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? std::move(*initiator) : nullptr;
  }

  // Runs the loop with nothing to do for `d`.
  void Idle(absl::Duration d) {
    absl::Time until = absl::Now() + d;
    (void)loop_->RunUntil([&] { return absl::Now() >= until; }, until);
  }

  // One block read through the session equals the image.
  void ExpectReadWorks(iscsi::Initiator& initiator, uint64_t lba) {
    std::vector<uint8_t> block(kBlockSize);
    auto read =
        initiator.Execute(kLun1, scsi::MakeRead(lba, 1, false), iscsi::DataDirection::kRead, block);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(memcmp(block.data(), image_.data() + lba * kBlockSize, kBlockSize), 0);
  }

  void TearDown() override {
    if (loop_) DrainLoop(loop_.get());
  }

  TargetWithLun target_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::vector<uint8_t> image_;
};

TEST_F(LivenessTest, IdleSessionSurvivesItsOwnPings) {
  iscsi::InitiatorOptions options = OptionsFor(*target_.tgtd, target_.iqn);
  options.session.nop_interval = absl::Milliseconds(500);
  options.session.nop_timeout = absl::Seconds(2);
  auto initiator = Login(std::move(options));
  ASSERT_NE(initiator, nullptr);
  Idle(absl::Seconds(3));
  EXPECT_EQ(initiator->session().state(), iscsi::Session::State::kFullFeature)
      << initiator->session().failure();
  EXPECT_GE(initiator->session().stats().nop_pings, 2u);
  ExpectReadWorks(*initiator, 9);
}

// tgtd pings with NOP-In (a target transfer tag) every second and drops
// the connection after 2 unanswered pings: each must be answered.
TEST_F(LivenessTest, IdleSessionAnswersTargetPings) {
  ASSERT_TRUE(target_.tgtd->SetTargetParam(1, "nop_interval", "1").ok())
      << target_.tgtd->last_output();
  ASSERT_TRUE(target_.tgtd->SetTargetParam(1, "nop_count", "2").ok());
  iscsi::InitiatorOptions options = OptionsFor(*target_.tgtd, target_.iqn);
  options.session.nop_interval = absl::Seconds(60);  // only the target pings
  auto initiator = Login(std::move(options));
  ASSERT_NE(initiator, nullptr);
  Idle(absl::Seconds(4));
  EXPECT_EQ(initiator->session().state(), iscsi::Session::State::kFullFeature)
      << initiator->session().failure();
  EXPECT_GE(initiator->session().stats().target_nops_answered, 2u);
  ExpectReadWorks(*initiator, 77);
}

// A buffer larger than the CDB asks for: the target sends one block and
// reports the rest as residual underflow.
TEST_F(LivenessTest, ShortReadReportsResidual) {
  auto initiator = Login(OptionsFor(*target_.tgtd, target_.iqn));
  ASSERT_NE(initiator, nullptr);
  std::vector<uint8_t> buffer(8 * kBlockSize, 0xcc);
  auto read =
      initiator->Execute(kLun1, scsi::MakeRead(3, 1, false), iscsi::DataDirection::kRead, buffer);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->residual, 7 * kBlockSize);
  EXPECT_EQ(memcmp(buffer.data(), image_.data() + 3 * kBlockSize, kBlockSize), 0);
  EXPECT_EQ(buffer[kBlockSize], 0xcc);  // nothing written past the data
}

TEST_F(LivenessTest, ReadPastTheEndIsAnError) {
  auto initiator = Login(OptionsFor(*target_.tgtd, target_.iqn));
  ASSERT_NE(initiator, nullptr);
  std::vector<uint8_t> buffer(2 * kBlockSize);
  auto read = initiator->Execute(kLun1, scsi::MakeRead(kLunBytes / kBlockSize - 1, 2, false),
                                 iscsi::DataDirection::kRead, buffer);
  EXPECT_FALSE(read.ok());
  // The session survives a failed command.
  ExpectReadWorks(*initiator, kLunBytes / kBlockSize - 1);
}

TEST_F(LivenessTest, ThousandSmallReadsAtOnce) {
  iscsi::InitiatorOptions options = OptionsFor(*target_.tgtd, target_.iqn);
  options.session.max_commands = 1024;
  auto initiator = Login(std::move(options));
  ASSERT_NE(initiator, nullptr);
  std::vector<uint8_t> back(1024 * kBlockSize, 0);
  CommandBatch batch(initiator->session(), loop_.get(), kLun1);
  for (uint64_t i = 0; i < 1024; ++i) {
    // Block i*7 of the LUN into slot i.
    batch.AddRead(i * 7, 1, back.data() + i * kBlockSize);
  }
  absl::Status ran = batch.RunAll();
  ASSERT_TRUE(ran.ok()) << ran;
  for (uint64_t i = 0; i < 1024; ++i) {
    ASSERT_EQ(memcmp(back.data() + i * kBlockSize, image_.data() + i * 7 * kBlockSize, kBlockSize),
              0)
        << "read " << i;
  }
  // tgtd's window is far smaller than 1024: the rest waited their turn.
  EXPECT_GT(initiator->session().stats().commands_queued_for_window, 0u);
  EXPECT_EQ(initiator->session().commands_in_flight(), 0u);
}

}  // namespace
}  // namespace isergw::testing
