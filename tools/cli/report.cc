#include "tools/cli/report.h"

#include <cstdio>
#include <string>

#include "iser_client/config/exit_codes.h"

namespace isergw::cli {

int ReportFailure(const absl::Status& status, absl::string_view context) {
  std::string line(status.message());
  if (!context.empty()) line = std::string(context) + ": " + line;
  fprintf(stderr, "isergw: %s\n", line.c_str());
  return iscsi::ExitCodeValue(iscsi::ExitCodeFor(status));
}

void PrintJson(nlohmann::json doc) {
  doc["version"] = kJsonVersion;
  std::string text = doc.dump();
  fprintf(stdout, "%s\n", text.c_str());
  fflush(stdout);
}

}  // namespace isergw::cli
