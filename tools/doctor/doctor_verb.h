// `isergw doctor [PORTAL_OR_URL]`: checks what this host needs to run isergw
// (ublk, io_uring, NBD, RDMA devices, a portal's reachability) and says, for
// each missing piece, what to do about it.
#ifndef TOOLS_DOCTOR_DOCTOR_VERB_H_
#define TOOLS_DOCTOR_DOCTOR_VERB_H_

#include <string>
#include <vector>

namespace isergw::cli {

// Runs every check and prints one line per check (or, with --json, an array
// of {check, status, detail, fix}). Returns 0 when no check failed, else 1.
int RunDoctor(const std::vector<std::string>& args);

}  // namespace isergw::cli

#endif  // TOOLS_DOCTOR_DOCTOR_VERB_H_
