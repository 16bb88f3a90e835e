// One finding of `isergw doctor`: what was checked, how it went, what was
// seen, and what a person should do about it.
#ifndef TOOLS_DOCTOR_CHECK_RESULT_H_
#define TOOLS_DOCTOR_CHECK_RESULT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace isergw::doctor {

// kWarn: isergw works, but something it could use is missing (iSER without
// an RDMA device, the daemon not running). kFail: a core piece is missing
// or broken (no ublk, no io_uring, a portal that cannot be reached).
enum class Verdict { kOk, kWarn, kFail };

struct CheckResult {
  std::string check;  // short stable name: "ublk", "rdma rxe0/1", "tcp 192.0.2.1:3260"
  Verdict verdict = Verdict::kOk;
  std::string detail;  // what was seen
  std::string fix;     // what to do; empty for kOk
};

// "OK", "WARN", "FAIL".
absl::string_view VerdictName(Verdict verdict);

bool AnyFailed(const std::vector<CheckResult>& results);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_CHECK_RESULT_H_
