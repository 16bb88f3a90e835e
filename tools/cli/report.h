#ifndef TOOLS_CLI_REPORT_H_
#define TOOLS_CLI_REPORT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace isergw::cli {

// The version of the JSON documents the CLI prints; bumped only when a key
// changes meaning or goes away (new keys may appear at any time).
inline constexpr int kJsonVersion = 1;

// Prints "isergw: <message>" on stderr (one line, the cause first) and
// returns the iscsiadm-compatible exit code for `status`.
int ReportFailure(const absl::Status& status, absl::string_view context = {});

// Prints `doc` (with "version" added) as one line on stdout.
void PrintJson(nlohmann::json doc);

}  // namespace isergw::cli

#endif  // TOOLS_CLI_REPORT_H_
