#include "tools/doctor/report.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace isergw::doctor {

std::string FormatText(const std::vector<CheckResult>& results) {
  std::string out;
  int counts[3] = {0, 0, 0};
  for (const CheckResult& r : results) {
    ++counts[static_cast<int>(r.verdict)];
    absl::StrAppendFormat(&out, "%-4s  %-22s %s", VerdictName(r.verdict), r.check, r.detail);
    if (r.verdict != Verdict::kOk && !r.fix.empty()) absl::StrAppend(&out, "; fix: ", r.fix);
    out += '\n';
  }
  absl::StrAppendFormat(&out, "%d ok, %d warning%s, %d failure%s\n", counts[0], counts[1],
                        counts[1] == 1 ? "" : "s", counts[2], counts[2] == 1 ? "" : "s");
  return out;
}

std::string FormatJson(const std::vector<CheckResult>& results) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const CheckResult& r : results) {
    array.push_back({{"check", r.check},
                     {"status", std::string(VerdictName(r.verdict))},
                     {"detail", r.detail},
                     {"fix", r.fix}});
  }
  return array.dump(2) + "\n";
}

}  // namespace isergw::doctor
