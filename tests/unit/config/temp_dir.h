// A private scratch directory per test, removed afterwards.
#ifndef TESTS_UNIT_CONFIG_TEMP_DIR_H_
#define TESTS_UNIT_CONFIG_TEMP_DIR_H_

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace isergw::iscsi {

class TempDir {
 public:
  TempDir() {
    std::string templ = ::testing::TempDir() + "isergw_config_XXXXXX";
    const char* dir = mkdtemp(templ.data());
    EXPECT_NE(dir, nullptr);
    path_ = templ;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // Writes `content` to `name` with permissions `mode`; returns the path.
  std::string Write(const std::string& name, const std::string& content, mode_t mode) const {
    const std::string file = File(name);
    {
      std::ofstream out(file, std::ios::trunc);
      out << content;
    }
    EXPECT_EQ(chmod(file.c_str(), mode), 0);
    return file;
  }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace isergw::iscsi

#endif  // TESTS_UNIT_CONFIG_TEMP_DIR_H_
