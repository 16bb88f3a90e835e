#include <gtest/gtest.h>

#include "ublk/device.h"

namespace isergw::ublk {
namespace {

TEST(ParseDevicePathTest, Forms) {
  EXPECT_EQ(*ParseDevicePath("/dev/ublkb0"), 0u);
  EXPECT_EQ(*ParseDevicePath("/dev/ublkb12"), 12u);
  EXPECT_EQ(*ParseDevicePath("ublkb3"), 3u);
  EXPECT_EQ(*ParseDevicePath("7"), 7u);
}

TEST(ParseDevicePathTest, Rejects) {
  for (const char* bad : {"", "/dev/ublkb", "/dev/ublkc0", "/dev/sda", "/dev/ublkb1p1",
                          "/dev/ublkb-1", "/dev/ublkb 1"}) {
    auto id = ParseDevicePath(bad);
    EXPECT_FALSE(id.ok()) << bad;
    if (!id.ok()) {
      EXPECT_NE(id.status().message().find("not a ublk device"), absl::string_view::npos);
    }
  }
}

}  // namespace
}  // namespace isergw::ublk
