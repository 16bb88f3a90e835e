#include "iser_client/config/iscsi_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;

TEST(ValidateIscsiNameTest, AcceptsTheThreeTypes) {
  for (const char* name : {
           "iqn.2003-01.org.linux-iscsi.host:sn.0123",
           "iqn.1993-08.org.debian:01:abcdef",
           "iqn.2026-11.org.isergw:0123456789ab",
           "iqn.2001-04.com.example",
           "IQN.2001-04.COM.EXAMPLE:Disk_1",
           "eui.02004567A425678D",
           "naa.52004567BA64678D",
           "naa.6001405abcdef0123456789abcdef012",
       }) {
    EXPECT_TRUE(ValidateIscsiName(name, "name").ok()) << name;
  }
}

TEST(ValidateIscsiNameTest, RejectsMalformed) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "is empty"},
      {"iq", "must start with iqn., eui. or naa."},
      {"foo.bar", "must start with iqn., eui. or naa."},
      {"iqn.", "YYYY-MM"},
      {"iqn.2003-1.org.x", "YYYY-MM"},
      {"iqn.2003-13.org.x", "month"},
      {"iqn.2003-00.org.x", "month"},
      {"iqn.2003-01", "YYYY-MM"},
      {"iqn.2003-01.org x", "only letters"},
      {"iqn.2003-01.org/x", "only letters"},
      {"eui.0123", "16 hex digits"},
      {"eui.0123456789ABCDEG", "16 hex digits"},
      {"naa.0123456789ABCDEF0", "16 or 32 hex digits"},
      {"iqn.2003-01.org.x:" + std::string(220, 'a'), "longer than 223 bytes"},
  };
  for (const auto& [name, expected] : cases) {
    const absl::Status status = ValidateIscsiName(name, "target name");
    ASSERT_FALSE(status.ok()) << name;
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(expected)) << name;
    EXPECT_THAT(std::string(status.message()), HasSubstr("target name")) << name;
  }
}

TEST(ValidateIscsiNameTest, LengthLimitIsInclusive) {
  const std::string prefix = "iqn.2003-01.org.x:";
  EXPECT_TRUE(ValidateIscsiName(prefix + std::string(223 - prefix.size(), 'a'), "n").ok());
  EXPECT_FALSE(ValidateIscsiName(prefix + std::string(224 - prefix.size(), 'a'), "n").ok());
}

}  // namespace
}  // namespace isergw::iscsi
