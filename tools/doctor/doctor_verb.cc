#include "tools/doctor/doctor_verb.h"

#include <cstdio>

namespace isergw::cli {

int RunDoctor(const std::vector<std::string>& /*args*/) {
  fprintf(stderr, "isergw doctor: not implemented yet\n");
  return 1;
}

}  // namespace isergw::cli
