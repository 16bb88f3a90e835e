// Login against tgtd: no authentication, one-way and mutual CHAP, a wrong
// secret, an unknown target, a missing LUN and nothing listening, each with
// the FailureKind the CLI turns into iscsiadm's exit code.
#include <string>

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

constexpr char kUser[] = "isergw-initiator";
constexpr char kSecret[] = "initiator-secret-1234";
constexpr char kTargetUser[] = "isergw-target";
constexpr char kTargetSecret[] = "target-secret-98765";

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = StartTargetWithLun(1 << 20);
    ASSERT_TRUE(t.ok()) << t.status();
    target_ = std::move(*t);
    loop_ = NewLoop();
  }

  iscsi::InitiatorOptions Options() const { return OptionsFor(*target_.tgtd, target_.iqn); }

  // Logs in, reads LUN 1's first block through the session and logs out:
  // proof that the session is in full feature phase, not just "no error".
  void ExpectWorkingSession(iscsi::InitiatorOptions options) {
    auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
    ASSERT_TRUE(initiator.ok()) << initiator.status();
    EXPECT_EQ((*initiator)->session().state(), iscsi::Session::State::kFullFeature);
    std::vector<uint8_t> block(kBlockSize, 0xaa);
    auto read = (*initiator)
                    ->Execute(scsi::EncodeLun(1), scsi::MakeRead(0, 1, false),
                              iscsi::DataDirection::kRead, block);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(block, std::vector<uint8_t>(kBlockSize, 0));  // the backing file is zeros
    EXPECT_TRUE((*initiator)->Logout().ok());
  }

  void TearDown() override {
    if (loop_) DrainLoop(loop_.get());
  }

  TargetWithLun target_;
  std::unique_ptr<uring::EventLoop> loop_;
};

TEST_F(LoginTest, NoAuthentication) { ExpectWorkingSession(Options()); }

TEST_F(LoginTest, OneWayChap) {
  ASSERT_TRUE(target_.tgtd->AddAccount(kUser, kSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kUser, false).ok());
  iscsi::InitiatorOptions options = Options();
  options.chap = iscsi::ChapCredentials{kUser, kSecret, "", ""};
  ExpectWorkingSession(std::move(options));
}

TEST_F(LoginTest, TargetWithChapRefusesLoginWithoutCredentials) {
  ASSERT_TRUE(target_.tgtd->AddAccount(kUser, kSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kUser, false).ok());
  auto initiator = iscsi::Initiator::Login(loop_.get(), Options());
  ASSERT_FALSE(initiator.ok());
  iscsi::FailureKind kind = iscsi::GetFailureKind(initiator.status());
  EXPECT_TRUE(kind == iscsi::FailureKind::kAuthFailed ||
              kind == iscsi::FailureKind::kAuthorizationFailed)
      << initiator.status();
}

TEST_F(LoginTest, MutualChap) {
  ASSERT_TRUE(target_.tgtd->AddAccount(kUser, kSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kUser, false).ok());
  ASSERT_TRUE(target_.tgtd->AddAccount(kTargetUser, kTargetSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kTargetUser, true).ok());
  iscsi::InitiatorOptions options = Options();
  options.chap = iscsi::ChapCredentials{kUser, kSecret, kTargetUser, kTargetSecret};
  ExpectWorkingSession(std::move(options));
}

// The target proves itself with a secret we do not expect: the initiator
// must refuse the target, not carry on.
TEST_F(LoginTest, MutualChapWithWrongTargetSecretFails) {
  ASSERT_TRUE(target_.tgtd->AddAccount(kUser, kSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kUser, false).ok());
  ASSERT_TRUE(target_.tgtd->AddAccount(kTargetUser, kTargetSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kTargetUser, true).ok());
  iscsi::InitiatorOptions options = Options();
  options.chap = iscsi::ChapCredentials{kUser, kSecret, kTargetUser, "not-the-target-secret"};
  auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
  ASSERT_FALSE(initiator.ok());
  EXPECT_EQ(iscsi::GetFailureKind(initiator.status()), iscsi::FailureKind::kAuthFailed)
      << initiator.status();
}

TEST_F(LoginTest, WrongSecretIsAuthFailed) {
  ASSERT_TRUE(target_.tgtd->AddAccount(kUser, kSecret).ok());
  ASSERT_TRUE(target_.tgtd->BindAccount(1, kUser, false).ok());
  iscsi::InitiatorOptions options = Options();
  options.chap = iscsi::ChapCredentials{kUser, "wrong-secret-00000", "", ""};
  auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
  ASSERT_FALSE(initiator.ok());
  EXPECT_EQ(iscsi::GetFailureKind(initiator.status()), iscsi::FailureKind::kAuthFailed)
      << initiator.status();
  EXPECT_EQ(iscsi::ExitCodeFor(initiator.status()), iscsi::ExitCode::kLoginAuthFailed);
  std::string message = absl::AsciiStrToLower(initiator.status().message());
  EXPECT_TRUE(absl::StrContains(message, "authentication")) << message;
  // The secret itself must never appear in a message.
  EXPECT_FALSE(absl::StrContains(initiator.status().ToString(), "wrong-secret")) << message;
}

TEST_F(LoginTest, UnknownTargetIsTargetNotFound) {
  iscsi::InitiatorOptions options = Options();
  options.target_name = "iqn.2024-01.org.isergw.test:no-such-target";
  auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
  ASSERT_FALSE(initiator.ok());
  EXPECT_EQ(iscsi::GetFailureKind(initiator.status()), iscsi::FailureKind::kTargetNotFound)
      << initiator.status();
  EXPECT_EQ(iscsi::ExitCodeFor(initiator.status()), iscsi::ExitCode::kFatalLogin);
}

TEST_F(LoginTest, ProbeFindsTheLun) {
  auto initiator = iscsi::Initiator::Login(loop_.get(), Options());
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  auto info = iscsi::ProbeLun(**initiator, 1);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->block_size, kBlockSize);
  EXPECT_EQ(info->size_bytes(), target_.lun_bytes);
  EXPECT_EQ(info->device_type, 0);
}

TEST_F(LoginTest, MissingLunIsLunNotFound) {
  auto initiator = iscsi::Initiator::Login(loop_.get(), Options());
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  auto info = iscsi::ProbeLun(**initiator, 7);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(iscsi::GetFailureKind(info.status()), iscsi::FailureKind::kLunNotFound)
      << info.status();
  EXPECT_EQ(iscsi::ExitCodeFor(info.status()), iscsi::ExitCode::kNoObjectsFound);
  // The session survives a probe of a LUN that is not there.
  auto good = iscsi::ProbeLun(**initiator, 1);
  EXPECT_TRUE(good.ok()) << good.status();
}

TEST_F(LoginTest, NothingListeningIsConnectionRefused) {
  iscsi::InitiatorOptions options = Options();
  options.endpoint.port = FreeTcpPort();
  auto initiator = iscsi::Initiator::Login(loop_.get(), std::move(options));
  ASSERT_FALSE(initiator.ok());
  EXPECT_EQ(iscsi::GetFailureKind(initiator.status()), iscsi::FailureKind::kConnectionRefused)
      << initiator.status();
  EXPECT_EQ(iscsi::ExitCodeFor(initiator.status()), iscsi::ExitCode::kTransport);
}

// A blocking call is one round trip on loopback (well under a millisecond
// at tgtd), not a wait for the session's next timer tick: ten one-block
// reads in a row must take far less than a second.
TEST_F(LoginTest, BlockingCommandsDoNotWaitForATimerTick) {
  auto initiator = iscsi::Initiator::Login(loop_.get(), Options());
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  std::vector<uint8_t> block(kBlockSize);
  absl::Time start = absl::Now();
  for (int i = 0; i < 10; ++i) {
    auto read = (*initiator)
                    ->Execute(scsi::EncodeLun(1), scsi::MakeRead(i, 1, false),
                              iscsi::DataDirection::kRead, block);
    ASSERT_TRUE(read.ok()) << read.status();
  }
  absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Milliseconds(500)) << "10 sequential one-block reads took " << took;
}

}  // namespace
}  // namespace isergw::testing
