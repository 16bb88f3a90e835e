#include "tools/doctor/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_split.h"

namespace isergw::doctor {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<CheckResult> Sample() {
  return {{"root", Verdict::kOk, "running as root", "ignored for OK"},
          {"ublk", Verdict::kFail, "ublk_drv is not loaded", "modprobe ublk_drv"},
          {"nbd", Verdict::kWarn, "nbd is not loaded", "modprobe nbd"}};
}

TEST(FormatTextTest, OneLinePerCheckWithFixForNonOk) {
  std::vector<std::string> lines = absl::StrSplit(FormatText(Sample()), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_THAT(lines[0], StartsWith("OK    root"));
  EXPECT_THAT(lines[0], Not(HasSubstr("fix")));
  EXPECT_THAT(lines[1], StartsWith("FAIL  ublk"));
  EXPECT_THAT(lines[1], HasSubstr("ublk_drv is not loaded; fix: modprobe ublk_drv"));
  EXPECT_THAT(lines[2], StartsWith("WARN  nbd"));
  EXPECT_THAT(lines[2], HasSubstr("fix: modprobe nbd"));
  EXPECT_EQ(lines[3], "1 ok, 1 warning, 1 failure");
}

TEST(FormatJsonTest, ArrayOfChecks) {
  nlohmann::json json = nlohmann::json::parse(FormatJson(Sample()));
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 3u);
  EXPECT_EQ(json[1]["check"], "ublk");
  EXPECT_EQ(json[1]["status"], "FAIL");
  EXPECT_EQ(json[1]["detail"], "ublk_drv is not loaded");
  EXPECT_EQ(json[1]["fix"], "modprobe ublk_drv");
  EXPECT_EQ(json[0]["status"], "OK");
  EXPECT_EQ(json[2]["status"], "WARN");
}

TEST(AnyFailedTest, OnlyFailCounts) {
  std::vector<CheckResult> results = Sample();
  EXPECT_TRUE(AnyFailed(results));
  results[1].verdict = Verdict::kWarn;
  EXPECT_FALSE(AnyFailed(results));
}

}  // namespace
}  // namespace isergw::doctor
