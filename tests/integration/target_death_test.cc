// The target dies (SIGKILL) or freezes (SIGSTOP) under load: every command in
// flight must complete with an error within seconds, the session must say
// why, and nothing may hang.
#include <signal.h>

#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/cdb.h"
#include "tests/integration/it_support.h"

namespace isergw::testing {
namespace {

constexpr uint64_t kLunBytes = 64ull << 20;
constexpr uint32_t kIoBlocks = 128;  // 64 KiB
constexpr int kSlots = 200;
const uint64_t kLun1 = scsi::EncodeLun(1);

// Keeps kSlots commands in flight, each resubmitted as soon as it completes,
// until told to stop; records every completion.
class Load {
 public:
  struct Slot {
    iscsi::ScsiRequest request;
    Load* load = nullptr;
    bool in_flight = false;
  };

  explicit Load(iscsi::Session& session)
      : session_(session), buffers_(size_t{kSlots} * kIoBlocks * kBlockSize) {
    FillRandom(buffers_.data(), buffers_.size(), 3);
    for (int i = 0; i < kSlots; ++i) {
      slots_[i].load = this;
      slots_[i].request.lun = kLun1;
      slots_[i].request.buffer = buffers_.data() + static_cast<size_t>(i) * kIoBlocks * kBlockSize;
      slots_[i].request.length = kIoBlocks * kBlockSize;
      slots_[i].request.context = &slots_[i];
      slots_[i].request.done = &Load::OnDone;
    }
  }

  absl::Status Start() {
    for (Slot& s : slots_) {
      if (absl::Status st = Issue(s); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  int in_flight() const { return in_flight_; }
  uint64_t good() const { return good_; }
  uint64_t failed() const { return failed_; }
  const absl::Status& first_error() const { return first_error_; }
  void Stop() { stopping_ = true; }

 private:
  absl::Status Issue(Slot& s) {
    // Slot i owns LBAs [i * kIoBlocks * 2, ...): no two commands overlap.
    const uint64_t region = static_cast<uint64_t>(&s - slots_) * kIoBlocks * 2;
    const uint64_t lba = region + rng_() % kIoBlocks;
    const bool write = rng_() % 2 == 0;
    scsi::Cdb cdb =
        write ? scsi::MakeWrite(lba, kIoBlocks, false) : scsi::MakeRead(lba, kIoBlocks, false);
    memcpy(s.request.cdb, cdb.bytes, cdb.length);
    s.request.cdb_length = cdb.length;
    s.request.direction = write ? iscsi::DataDirection::kWrite : iscsi::DataDirection::kRead;
    absl::Status st = session_.Submit(&s.request);
    if (st.ok()) {
      s.in_flight = true;
      ++in_flight_;
    }
    return st;
  }

  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
    auto* s = static_cast<Slot*>(request->context);
    s->load->Completed(*s, result);
  }

  void Completed(Slot& s, const iscsi::ScsiResult& result) {
    EXPECT_TRUE(s.in_flight) << "a command completed twice";
    s.in_flight = false;
    --in_flight_;
    if (result.status.ok() && result.scsi_status == 0) {
      ++good_;
    } else {
      ++failed_;
      if (first_error_.ok()) {
        first_error_ = result.status.ok() ? absl::InternalError("SCSI error") : result.status;
      }
      stopping_ = true;
    }
    if (!stopping_) {
      // Resubmission may be refused once the session is down: that is fine.
      (void)Issue(s);
    }
  }

  iscsi::Session& session_;
  std::vector<uint8_t> buffers_;
  Slot slots_[kSlots];
  std::mt19937_64 rng_{11};
  int in_flight_ = 0;
  uint64_t good_ = 0;
  uint64_t failed_ = 0;
  absl::Status first_error_;
  bool stopping_ = false;
};

class TargetDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = StartTargetWithLun(kLunBytes);
    ASSERT_TRUE(t.ok()) << t.status();
    target_ = std::move(*t);
    loop_ = NewLoop();
  }

  std::unique_ptr<iscsi::Initiator> LoginOrDie(iscsi::InitiatorOptions options) {
    options.session.max_commands = kSlots;
    auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
    EXPECT_TRUE(initiator.ok()) << initiator.status();
    if (!initiator.ok()) return nullptr;
    // Takes the UNIT ATTENTION of the new nexus before the load starts.
    auto info = iscsi::ProbeLun(**initiator, 1);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? std::move(*initiator) : nullptr;
  }

  // Runs the load for a moment, stops the target with `signal`, and checks
  // every command completes with an error within `limit`.
  void RunAndStopTarget(iscsi::Initiator& initiator, int signal, absl::Duration limit) {
    Load load(initiator.session());
    ASSERT_TRUE(load.Start().ok());
    absl::Status ran =
        loop_->RunUntil([&] { return load.good() >= 300; }, absl::Now() + absl::Seconds(20));
    ASSERT_TRUE(ran.ok()) << "the load did not get going: " << load.first_error();
    ASSERT_TRUE(load.first_error().ok()) << load.first_error();
    ASSERT_GT(load.in_flight(), 0);

    const int in_flight_at_kill = load.in_flight();
    if (signal == SIGKILL) {
      target_.tgtd->Kill();
    } else {
      ASSERT_EQ(kill(target_.tgtd->pid(), signal), 0);
    }
    absl::Time killed = absl::Now();
    ran = loop_->RunUntil([&] { return load.in_flight() == 0; }, killed + limit);
    absl::Duration took = absl::Now() - killed;
    ASSERT_TRUE(ran.ok()) << load.in_flight() << " of " << in_flight_at_kill
                          << " commands still in flight " << limit << " after the target stopped";
    EXPECT_GE(load.failed(), 1u);
    EXPECT_FALSE(load.first_error().ok());
    EXPECT_EQ(initiator.session().state(), iscsi::Session::State::kFailed);
    EXPECT_LT(took, limit);

    // The session says why, in words, and the observer heard it.
    const absl::Status& failure = initiator.session().failure();
    std::cout << "session failure: " << failure << "\n";
    EXPECT_FALSE(failure.ok());
    EXPECT_TRUE(absl::StrContains(failure.message(), "127.0.0.1")) << failure;
    EXPECT_FALSE(initiator.session_failure().ok());
    iscsi::FailureKind kind = iscsi::GetFailureKind(failure);
    EXPECT_TRUE(kind == iscsi::FailureKind::kTransport || kind == iscsi::FailureKind::kTimedOut)
        << failure;

    // Nothing more is accepted, and the blocking API fails at once.
    std::vector<uint8_t> block(kBlockSize);
    absl::Time before = absl::Now();
    auto outcome = initiator.Execute(kLun1, scsi::MakeRead(0, 1, false),
                                     iscsi::DataDirection::kRead, block, absl::Seconds(30));
    EXPECT_FALSE(outcome.ok());
    EXPECT_LT(absl::Now() - before, absl::Seconds(1));
    EXPECT_EQ(iscsi::GetFailureKind(outcome.status()), iscsi::FailureKind::kTransport)
        << outcome.status();
    absl::Time logout_start = absl::Now();
    (void)initiator.Logout(absl::Seconds(5));
    EXPECT_LT(absl::Now() - logout_start, absl::Seconds(6));
  }

  void TearDown() override {
    if (loop_) DrainLoop(loop_.get());
  }

  TargetWithLun target_;
  std::unique_ptr<uring::EventLoop> loop_;
};

TEST_F(TargetDeathTest, KilledTargetFailsEveryCommandQuickly) {
  auto initiator = LoginOrDie(OptionsFor(*target_.tgtd, target_.iqn));
  ASSERT_NE(initiator, nullptr);
  RunAndStopTarget(*initiator, SIGKILL, absl::Seconds(5));
  EXPECT_EQ(iscsi::GetFailureKind(initiator->session().failure()), iscsi::FailureKind::kTransport)
      << initiator->session().failure();
}

// A frozen target closes nothing: only the NOP-Out ping notices. With a 1 s
// interval and a 2 s timeout everything must be over well within 8 s.
TEST_F(TargetDeathTest, FrozenTargetIsDetectedByPing) {
  iscsi::InitiatorOptions options = OptionsFor(*target_.tgtd, target_.iqn);
  options.session.nop_interval = absl::Seconds(1);
  options.session.nop_timeout = absl::Seconds(2);
  options.session.command_timeout = absl::Seconds(30);
  auto initiator = LoginOrDie(std::move(options));
  ASSERT_NE(initiator, nullptr);
  RunAndStopTarget(*initiator, SIGSTOP, absl::Seconds(8));
  std::string message = absl::AsciiStrToLower(initiator->session().failure().message());
  EXPECT_TRUE(absl::StrContains(message, "nop") || absl::StrContains(message, "ping") ||
              absl::StrContains(message, "respond") || absl::StrContains(message, "time"))
      << message;
}

}  // namespace
}  // namespace isergw::testing
