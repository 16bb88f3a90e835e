#include "iser_client/config/exit_codes.h"

#include <gtest/gtest.h>

namespace isergw::iscsi {
namespace {

TEST(ExitCodeTest, NumbersMatchIscsiErrH) {
  // Spot checks against open-iscsi's include/iscsi_err.h.
  EXPECT_EQ(ExitCodeValue(ExitCode::kSuccess), 0);
  EXPECT_EQ(ExitCodeValue(ExitCode::kGeneric), 1);
  EXPECT_EQ(ExitCodeValue(ExitCode::kSessionNotFound), 2);
  EXPECT_EQ(ExitCodeValue(ExitCode::kNoMemory), 3);
  EXPECT_EQ(ExitCodeValue(ExitCode::kTransport), 4);
  EXPECT_EQ(ExitCodeValue(ExitCode::kLoginFailed), 5);
  EXPECT_EQ(ExitCodeValue(ExitCode::kInvalidArgument), 7);
  EXPECT_EQ(ExitCodeValue(ExitCode::kTransportTimeout), 8);
  EXPECT_EQ(ExitCodeValue(ExitCode::kInternal), 9);
  EXPECT_EQ(ExitCodeValue(ExitCode::kLogoutFailed), 10);
  EXPECT_EQ(ExitCodeValue(ExitCode::kAccessDenied), 13);
  EXPECT_EQ(ExitCodeValue(ExitCode::kSessionExists), 15);
  EXPECT_EQ(ExitCodeValue(ExitCode::kFatalLogin), 19);
  EXPECT_EQ(ExitCodeValue(ExitCode::kNoObjectsFound), 21);
  EXPECT_EQ(ExitCodeValue(ExitCode::kLoginAuthFailed), 24);
  EXPECT_EQ(ExitCodeValue(ExitCode::kOperationNotSupported), 27);
  EXPECT_EQ(ExitCodeValue(ExitCode::kAgain), 29);
  EXPECT_EQ(ExitCodeValue(ExitCode::kChildTerminated), 31);
}

TEST(FailureKindTest, TagRoundTrips) {
  for (FailureKind kind :
       {FailureKind::kConnectionRefused, FailureKind::kNoRoute, FailureKind::kTimedOut,
        FailureKind::kLoginFailed, FailureKind::kAuthFailed, FailureKind::kAuthorizationFailed,
        FailureKind::kTargetNotFound, FailureKind::kLunNotFound, FailureKind::kInvalidArgument,
        FailureKind::kTransport, FailureKind::kProtocol, FailureKind::kIo}) {
    absl::Status status = absl::UnavailableError("x");
    TagFailure(status, kind);
    EXPECT_EQ(GetFailureKind(status), kind) << FailureKindName(kind);
    EXPECT_EQ(status.GetPayload(kFailurePayloadUrl).value_or(absl::Cord()),
              std::string(FailureKindName(kind)));
  }
}

TEST(FailureKindTest, UntaggedAndOkAreNone) {
  EXPECT_EQ(GetFailureKind(absl::InternalError("x")), FailureKind::kNone);
  absl::Status ok = absl::OkStatus();
  TagFailure(ok, FailureKind::kIo);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(GetFailureKind(ok), FailureKind::kNone);
}

TEST(FailureKindTest, RetagAndClear) {
  absl::Status status = WithFailure(absl::UnavailableError("x"), FailureKind::kTransport);
  TagFailure(status, FailureKind::kTimedOut);
  EXPECT_EQ(GetFailureKind(status), FailureKind::kTimedOut);
  TagFailure(status, FailureKind::kNone);
  EXPECT_EQ(GetFailureKind(status), FailureKind::kNone);
  EXPECT_FALSE(status.GetPayload(kFailurePayloadUrl).has_value());
}

TEST(FailureKindTest, UnknownPayloadIsNone) {
  absl::Status status = absl::UnavailableError("x");
  status.SetPayload(kFailurePayloadUrl, absl::Cord("from_the_future"));
  EXPECT_EQ(GetFailureKind(status), FailureKind::kNone);
  EXPECT_EQ(ExitCodeFor(status), ExitCode::kTransport);  // falls back to the absl code
}

TEST(ExitCodeForTest, KindDecidesFirst) {
  // Every status below carries an absl code that alone would map elsewhere.
  const absl::Status base = absl::UnknownError("x");
  const std::pair<FailureKind, ExitCode> cases[] = {
      {FailureKind::kConnectionRefused, ExitCode::kTransport},
      {FailureKind::kNoRoute, ExitCode::kTransport},
      {FailureKind::kTimedOut, ExitCode::kTransportTimeout},
      {FailureKind::kLoginFailed, ExitCode::kLoginFailed},
      {FailureKind::kAuthFailed, ExitCode::kLoginAuthFailed},
      {FailureKind::kAuthorizationFailed, ExitCode::kLoginAuthFailed},
      {FailureKind::kTargetNotFound, ExitCode::kFatalLogin},
      {FailureKind::kLunNotFound, ExitCode::kNoObjectsFound},
      {FailureKind::kInvalidArgument, ExitCode::kInvalidArgument},
      {FailureKind::kTransport, ExitCode::kTransport},
      {FailureKind::kProtocol, ExitCode::kTransport},
      {FailureKind::kIo, ExitCode::kGeneric},
  };
  for (const auto& [kind, code] : cases) {
    EXPECT_EQ(ExitCodeFor(WithFailure(base, kind)), code) << FailureKindName(kind);
  }
  // The kind overrides a code that maps differently on its own.
  EXPECT_EQ(ExitCodeFor(WithFailure(absl::DeadlineExceededError("x"), FailureKind::kAuthFailed)),
            ExitCode::kLoginAuthFailed);
}

TEST(ExitCodeForTest, AbslCodeFallback) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), ExitCode::kSuccess);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("x")), ExitCode::kInvalidArgument);
  EXPECT_EQ(ExitCodeFor(absl::OutOfRangeError("x")), ExitCode::kInvalidArgument);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("x")), ExitCode::kNoObjectsFound);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("x")), ExitCode::kSessionExists);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("x")), ExitCode::kAccessDenied);
  EXPECT_EQ(ExitCodeFor(absl::UnauthenticatedError("x")), ExitCode::kLoginAuthFailed);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("x")), ExitCode::kTransportTimeout);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("x")), ExitCode::kNoMemory);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("x")), ExitCode::kTransport);
  EXPECT_EQ(ExitCodeFor(absl::UnimplementedError("x")), ExitCode::kOperationNotSupported);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("x")), ExitCode::kInternal);
  EXPECT_EQ(ExitCodeFor(absl::AbortedError("x")), ExitCode::kAgain);
  EXPECT_EQ(ExitCodeFor(absl::UnknownError("x")), ExitCode::kGeneric);
  EXPECT_EQ(ExitCodeFor(absl::DataLossError("x")), ExitCode::kGeneric);
  EXPECT_EQ(ExitCodeFor(absl::CancelledError("x")), ExitCode::kGeneric);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("x")), ExitCode::kGeneric);
}

}  // namespace
}  // namespace isergw::iscsi
