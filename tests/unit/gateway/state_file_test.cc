#include "gateway/state_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace isergw::gateway {
namespace {

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/isergw-state-XXXXXX";
    dir_ = mkdtemp(pattern);
    path_ = dir_ + "/volumes.json";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& text) { std::ofstream(path_) << text; }

  std::string dir_, path_;
};

TEST_F(StateFileTest, AbsentFileIsEmptyState) {
  auto state = LoadState(path_);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->volumes.empty());
}

TEST_F(StateFileTest, RoundTripKeepsSpecsAndDevices) {
  DaemonState state;
  state.boot_id = CurrentBootId();
  EXPECT_FALSE(state.boot_id.empty());
  VolumeSpec a;
  a.name = "a";
  a.url = "iser://192.0.2.1/iqn.2026-11.example:vol1/0";
  a.persist = true;
  a.chap = "vol1";
  VolumeSpec b;
  b.name = "b";
  b.url = "mem://64M";
  state.volumes = {{a, 3}, {b, std::nullopt}};
  ASSERT_TRUE(SaveState(path_, state).ok());

  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  auto loaded = LoadState(path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->boot_id, state.boot_id);
  ASSERT_EQ(loaded->volumes.size(), 2u);
  EXPECT_EQ(loaded->volumes[0].spec.name, "a");
  EXPECT_EQ(loaded->volumes[0].spec.chap, "vol1");
  EXPECT_TRUE(loaded->volumes[0].spec.persist);
  EXPECT_EQ(loaded->volumes[0].device_id, 3u);
  EXPECT_FALSE(loaded->volumes[1].device_id.has_value());
}

TEST_F(StateFileTest, SavingReplacesTheWholeFile) {
  DaemonState state;
  VolumeSpec a;
  a.name = "a";
  a.url = "mem://64M";
  state.volumes = {{a, 1}, {a, 2}};
  ASSERT_TRUE(SaveState(path_, state).ok());
  state.volumes.resize(1);
  ASSERT_TRUE(SaveState(path_, state).ok());
  auto loaded = LoadState(path_);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->volumes.size(), 1u);
}

TEST_F(StateFileTest, DamagedFilesAreErrorsNamingTheFile) {
  for (const char* text : {"{", "[]", R"({"version": 99, "volumes": []})", R"({"version": 1})",
                           R"({"version": 1, "volumes": [{"spec": {"queues": "x"}}]})",
                           R"({"version": 1, "volumes": [{"spec": {}, "device_id": -4}]})"}) {
    Write(text);
    auto state = LoadState(path_);
    ASSERT_FALSE(state.ok()) << text;
    EXPECT_NE(state.status().message().find(path_), absl::string_view::npos) << state.status();
    EXPECT_EQ(state.status().code(), absl::StatusCode::kDataLoss);
  }
}

TEST_F(StateFileTest, UnwritableFolderIsAnErrorAndLeavesTheOldFile) {
  DaemonState state;
  ASSERT_TRUE(SaveState(path_, state).ok());
  EXPECT_FALSE(SaveState(dir_ + "/missing/volumes.json", state).ok());
  EXPECT_TRUE(LoadState(path_).ok());
}

}  // namespace
}  // namespace isergw::gateway
