#ifndef TOOLS_VERBS_VERBS_H_
#define TOOLS_VERBS_VERBS_H_

#include <string>
#include <vector>

namespace isergw::cli {

// Each verb takes its positional arguments (flags are already parsed) and
// returns the process exit code.
int RunDiscover(const std::vector<std::string>& args);
int RunInfo(const std::vector<std::string>& args);
int RunCopy(const std::vector<std::string>& args);
int RunBench(const std::vector<std::string>& args);
int RunAttach(const std::vector<std::string>& args);
int RunExport(const std::vector<std::string>& args);
int RunDaemon(const std::vector<std::string>& args);
int RunDetach(const std::vector<std::string>& args);
int RunList(const std::vector<std::string>& args);
int RunStatus(const std::vector<std::string>& args);
int RunSet(const std::vector<std::string>& args);
// attach --frontend nbd (and auto without ublk): in export.cc.
bool AttachGoesToNbd();
int RunAttachNbd(const std::vector<std::string>& args);

}  // namespace isergw::cli

#endif  // TOOLS_VERBS_VERBS_H_
