// How doctor's findings are printed: one line per check for people, or a
// JSON array of {check, status, detail, fix} for scripts.
#ifndef TOOLS_DOCTOR_REPORT_H_
#define TOOLS_DOCTOR_REPORT_H_

#include <string>
#include <vector>

#include "tools/doctor/check_result.h"

namespace isergw::doctor {

// "FAIL  ublk             ublk_drv is not loaded (...); fix: modprobe ublk_drv"
// per check, then a summary line "2 ok, 1 warning, 1 failure".
std::string FormatText(const std::vector<CheckResult>& results);

// [{"check": "ublk", "status": "FAIL", "detail": "...", "fix": "..."}, ...], keys in
// that order.
std::string FormatJson(const std::vector<CheckResult>& results);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_REPORT_H_
