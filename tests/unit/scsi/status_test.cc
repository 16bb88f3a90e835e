#include "iser_client/scsi/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace isergw::scsi {
namespace {

SenseData Sense(SenseKey key, uint8_t asc, uint8_t ascq = 0, bool deferred = false) {
  SenseData s;
  s.response_code = deferred ? 0x71 : 0x70;
  s.key = key;
  s.asc = asc;
  s.ascq = ascq;
  s.deferred = deferred;
  return s;
}

CommandOutcome ClassifyCc(const SenseData& s) { return Classify(status::kCheckCondition, &s); }

TEST(StatusNameTest, Names) {
  EXPECT_EQ(StatusName(0x00), "GOOD");
  EXPECT_EQ(StatusName(0x02), "CHECK CONDITION");
  EXPECT_EQ(StatusName(0x04), "CONDITION MET");
  EXPECT_EQ(StatusName(0x08), "BUSY");
  EXPECT_EQ(StatusName(0x18), "RESERVATION CONFLICT");
  EXPECT_EQ(StatusName(0x28), "TASK SET FULL");
  EXPECT_EQ(StatusName(0x30), "ACA ACTIVE");
  EXPECT_EQ(StatusName(0x40), "TASK ABORTED");
  EXPECT_EQ(StatusName(0x22), "UNKNOWN STATUS");
}

TEST(ClassifyTest, StatusOnly) {
  EXPECT_EQ(Classify(status::kGood, nullptr), CommandOutcome::kSuccess);
  EXPECT_EQ(Classify(status::kConditionMet, nullptr), CommandOutcome::kSuccess);
  EXPECT_EQ(Classify(status::kBusy, nullptr), CommandOutcome::kRetry);
  EXPECT_EQ(Classify(status::kTaskSetFull, nullptr), CommandOutcome::kRetry);
  EXPECT_EQ(Classify(status::kAcaActive, nullptr), CommandOutcome::kRetry);
  EXPECT_EQ(Classify(status::kTaskAborted, nullptr), CommandOutcome::kRetry);
  EXPECT_EQ(Classify(status::kReservationConflict, nullptr), CommandOutcome::kFail);
  EXPECT_EQ(Classify(status::kCheckCondition, nullptr), CommandOutcome::kFail);
  EXPECT_EQ(Classify(0x22, nullptr), CommandOutcome::kFail);
}

TEST(ClassifyTest, SenseKeys) {
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kUnitAttention, 0x29)), CommandOutcome::kRetry);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kUnitAttention, 0x2a, 0x09)), CommandOutcome::kRetry);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kAbortedCommand, 0x47)), CommandOutcome::kRetry);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kAbortedCommand, 0x10, 0x01)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kRecoveredError, 0x17)), CommandOutcome::kSuccess);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kMediumError, 0x11)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kIllegalRequest, 0x24)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kDataProtect, 0x27)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kHardwareError, 0x44)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kMiscompare, 0x1d)), CommandOutcome::kFail);
}

TEST(ClassifyTest, NotReadyRetriesOnlyTransientStates) {
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kNotReady, 0x04, 0x01)), CommandOutcome::kRetry);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kNotReady, 0x04, 0x07)), CommandOutcome::kRetry);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kNotReady, 0x04, 0x0a)), CommandOutcome::kRetry);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kNotReady, 0x04, 0x02)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kNotReady, 0x04, 0x03)), CommandOutcome::kFail);
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kNotReady, 0x3a)), CommandOutcome::kFail);
}

TEST(ClassifyTest, DeferredSenseRetries) {
  EXPECT_EQ(ClassifyCc(Sense(SenseKey::kMediumError, 0x0c, 0, /*deferred=*/true)),
            CommandOutcome::kRetry);
}

TEST(ToStatusTest, SuccessIsOk) {
  EXPECT_TRUE(ToStatus(status::kGood, nullptr).ok());
  SenseData recovered = Sense(SenseKey::kRecoveredError, 0x17);
  EXPECT_TRUE(ToStatus(status::kCheckCondition, &recovered).ok());
}

TEST(ToStatusTest, MessagesAndCodes) {
  SenseData medium = Sense(SenseKey::kMediumError, 0x11);
  absl::Status st = ToStatus(status::kCheckCondition, &medium);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(st.message(), "MEDIUM ERROR: UNRECOVERED READ ERROR (sense 3/11/00)");

  struct Case {
    SenseData sense;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {Sense(SenseKey::kIllegalRequest, 0x24), absl::StatusCode::kInvalidArgument},
      {Sense(SenseKey::kIllegalRequest, 0x20), absl::StatusCode::kInvalidArgument},
      {Sense(SenseKey::kIllegalRequest, 0x21), absl::StatusCode::kOutOfRange},
      {Sense(SenseKey::kIllegalRequest, 0x25), absl::StatusCode::kNotFound},
      {Sense(SenseKey::kDataProtect, 0x27), absl::StatusCode::kPermissionDenied},
      {Sense(SenseKey::kDataProtect, 0x27, 0x07), absl::StatusCode::kResourceExhausted},
      {Sense(SenseKey::kNotReady, 0x04, 0x01), absl::StatusCode::kUnavailable},
      {Sense(SenseKey::kNotReady, 0x04, 0x03), absl::StatusCode::kUnavailable},
      {Sense(SenseKey::kUnitAttention, 0x29), absl::StatusCode::kUnavailable},
      {Sense(SenseKey::kHardwareError, 0x44), absl::StatusCode::kInternal},
      {Sense(SenseKey::kAbortedCommand, 0x47), absl::StatusCode::kAborted},
      {Sense(SenseKey::kMiscompare, 0x1d), absl::StatusCode::kAborted},
  };
  for (const Case& c : cases) {
    absl::Status s = ToStatus(status::kCheckCondition, &c.sense);
    EXPECT_EQ(s.code(), c.code) << s;
    EXPECT_FALSE(s.message().empty());
  }
  SenseData lba = Sense(SenseKey::kIllegalRequest, 0x21);
  EXPECT_EQ(ToStatus(status::kCheckCondition, &lba).message(),
            "ILLEGAL REQUEST: LOGICAL BLOCK ADDRESS OUT OF RANGE (sense 5/21/00)");
}

TEST(ToStatusTest, StatusOnlyCodes) {
  EXPECT_EQ(ToStatus(status::kReservationConflict, nullptr).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ToStatus(status::kReservationConflict, nullptr).message(),
            "SCSI status RESERVATION CONFLICT");
  EXPECT_EQ(ToStatus(status::kBusy, nullptr).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ToStatus(status::kBusy, nullptr).message(), "SCSI status BUSY");
  EXPECT_EQ(ToStatus(status::kTaskSetFull, nullptr).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ToStatus(status::kTaskAborted, nullptr).code(), absl::StatusCode::kAborted);
  EXPECT_EQ(ToStatus(status::kCheckCondition, nullptr).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ToStatus(0x22, nullptr).code(), absl::StatusCode::kUnknown);
}

TEST(ToErrnoTest, FollowsLinuxBlockLayer) {
  EXPECT_EQ(ToErrno(status::kGood, nullptr), 0);
  SenseData recovered = Sense(SenseKey::kRecoveredError, 0x17);
  EXPECT_EQ(ToErrno(status::kCheckCondition, &recovered), 0);

  struct Case {
    SenseData sense;
    int err;
  };
  const Case cases[] = {
      {Sense(SenseKey::kDataProtect, 0x27, 0x07), ENOSPC},
      {Sense(SenseKey::kDataProtect, 0x27, 0x00), EREMOTEIO},
      {Sense(SenseKey::kMediumError, 0x11), ENODATA},
      {Sense(SenseKey::kMediumError, 0x14, 0x01), ENODATA},
      {Sense(SenseKey::kMediumError, 0x0c), EIO},
      {Sense(SenseKey::kHardwareError, 0x44), EREMOTEIO},
      {Sense(SenseKey::kMiscompare, 0x1d), EREMOTEIO},
      {Sense(SenseKey::kIllegalRequest, 0x21), EREMOTEIO},
      {Sense(SenseKey::kIllegalRequest, 0x20), EREMOTEIO},
      {Sense(SenseKey::kIllegalRequest, 0x25), EIO},
      {Sense(SenseKey::kIllegalRequest, 0x10, 0x01), EILSEQ},
      {Sense(SenseKey::kAbortedCommand, 0x10, 0x03), EILSEQ},
      {Sense(SenseKey::kAbortedCommand, 0x47), EIO},
      {Sense(SenseKey::kNotReady, 0x04, 0x03), EIO},
      {Sense(SenseKey::kUnitAttention, 0x29), EIO},
      {Sense(SenseKey::kDataProtect, 0x27, 0x07, /*deferred=*/true), EIO},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ToErrno(status::kCheckCondition, &c.sense), c.err) << DescribeSense(c.sense);
  }
  EXPECT_EQ(ToErrno(status::kReservationConflict, nullptr), EBADE);
  EXPECT_EQ(ToErrno(status::kBusy, nullptr), EIO);
  EXPECT_EQ(ToErrno(status::kCheckCondition, nullptr), EIO);
  EXPECT_EQ(ToErrno(TransportFailure::kConnectionLost), ENOLINK);
  EXPECT_EQ(ToErrno(TransportFailure::kTimedOut), ETIMEDOUT);
}

TEST(RetryBudgetTest, AllowsFiveRetriesThenStops) {
  RetryBudget budget;
  for (int i = 0; i < kMaxRetriesPerCommand; ++i) {
    EXPECT_TRUE(budget.ShouldRetry(CommandOutcome::kRetry)) << i;
  }
  EXPECT_EQ(budget.used(), 5);
  EXPECT_TRUE(budget.exhausted());
  EXPECT_FALSE(budget.ShouldRetry(CommandOutcome::kRetry));
  budget.Reset();
  EXPECT_TRUE(budget.ShouldRetry(CommandOutcome::kRetry));
}

TEST(RetryBudgetTest, NeverRetriesSuccessOrFailure) {
  RetryBudget budget(2);
  EXPECT_FALSE(budget.ShouldRetry(CommandOutcome::kSuccess));
  EXPECT_FALSE(budget.ShouldRetry(CommandOutcome::kFail));
  EXPECT_EQ(budget.used(), 0);
  EXPECT_TRUE(budget.ShouldRetry(CommandOutcome::kRetry));
  EXPECT_TRUE(budget.ShouldRetry(CommandOutcome::kRetry));
  EXPECT_FALSE(budget.ShouldRetry(CommandOutcome::kRetry));
}

}  // namespace
}  // namespace isergw::scsi
