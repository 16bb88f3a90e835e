// A temporary directory standing in for the host's / in doctor's tests:
// files under it play /sys, /proc, /dev and /lib/modules.
#ifndef TESTS_UNIT_DOCTOR_FAKE_ROOT_H_
#define TESTS_UNIT_DOCTOR_FAKE_ROOT_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tools/doctor/host_root.h"

namespace isergw::doctor {

class FakeRoot {
 public:
  FakeRoot() {
    char pattern[] = "/tmp/isergw-doctor-XXXXXX";
    const char* dir = mkdtemp(pattern);
    path_ = dir != nullptr ? dir : "";
  }
  ~FakeRoot() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  FakeRoot(const FakeRoot&) = delete;
  FakeRoot& operator=(const FakeRoot&) = delete;

  // Writes `content` to ROOT/absolute, creating the parent directories.
  void Write(const std::string& absolute, const std::string& content) {
    const std::filesystem::path file = path_ + absolute;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << content;
  }
  void MakeDir(const std::string& absolute) {
    std::filesystem::create_directories(path_ + absolute);
  }

  HostRoot root() const { return HostRoot(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace isergw::doctor

#endif  // TESTS_UNIT_DOCTOR_FAKE_ROOT_H_
