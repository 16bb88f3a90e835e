#include "gateway/volume_spec.h"

#include <gtest/gtest.h>

#include "iser_client/config/exit_codes.h"

namespace isergw::gateway {
namespace {

VolumeSpec Valid() {
  VolumeSpec spec;
  spec.name = "vol1";
  spec.url = "iser://192.0.2.1/iqn.2026-11.example:vol1/0";
  return spec;
}

TEST(VolumeSpecTest, NamesAreWhatADeviceLinkMayHold) {
  EXPECT_TRUE(ValidateVolumeName("vol-1.a_b").ok());
  EXPECT_FALSE(ValidateVolumeName("").ok());
  EXPECT_FALSE(ValidateVolumeName(std::string(65, 'a')).ok());
  EXPECT_FALSE(ValidateVolumeName("../etc").ok());
  EXPECT_FALSE(ValidateVolumeName("a/b").ok());
  EXPECT_FALSE(ValidateVolumeName("-x").ok());
  EXPECT_FALSE(ValidateVolumeName(".hidden").ok());
  EXPECT_FALSE(ValidateVolumeName("a b").ok());
}

TEST(VolumeSpecTest, ValidSpecPasses) { EXPECT_TRUE(ValidateVolumeSpec(Valid()).ok()); }

TEST(VolumeSpecTest, SecretsInTheUrlAreRefusedWithoutEchoingThem) {
  VolumeSpec spec = Valid();
  spec.url = "iscsi://alice%s3cret@192.0.2.1/iqn.2026-11.example:vol1/0";
  absl::Status status = ValidateVolumeSpec(spec);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().find("s3cret"), absl::string_view::npos) << status;
  EXPECT_NE(status.message().find("--chap"), absl::string_view::npos) << status;
  EXPECT_EQ(iscsi::ExitCodeFor(status), iscsi::ExitCode::kInvalidArgument);
}

TEST(VolumeSpecTest, EachBadFieldIsNamed) {
  VolumeSpec spec = Valid();
  spec.url = "iscsi://192.0.2.1/iqn.2026-11.example:vol1";
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("LUN"), absl::string_view::npos);
  spec = Valid();
  spec.queues = 0;
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("queues"), absl::string_view::npos);
  spec = Valid();
  spec.depth = 5000;
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("depth"), absl::string_view::npos);
  spec = Valid();
  spec.chap = "../../etc/shadow";
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("--chap"), absl::string_view::npos);
  spec = Valid();
  spec.header_digest = "md5";
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("digest"), absl::string_view::npos);
  spec = Valid();
  spec.url = "mem://64M";
  spec.transport = TransportChoice::kIser;
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("--transport"), absl::string_view::npos);
  spec = Valid();
  spec.replacement_timeout_s = 86401;
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("--replacement-timeout"),
            absl::string_view::npos);
  spec = Valid();
  spec.portals = "192.0.2.2:3260,,";
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("--portals"), absl::string_view::npos);
  spec = Valid();
  spec.url = "mem://64M";
  spec.portals = "192.0.2.2";
  EXPECT_NE(ValidateVolumeSpec(spec).message().find("--portals applies"), absl::string_view::npos);
}

TEST(VolumeSpecTest, RecoveryFieldsAreAcceptedAndKept) {
  VolumeSpec spec = Valid();
  spec.replacement_timeout_s = 0;
  spec.portals = "192.0.2.2:3260,192.0.2.3";
  spec.spread_portals = true;
  EXPECT_TRUE(ValidateVolumeSpec(spec).ok());
  auto back = VolumeSpecFromJson(VolumeSpecToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->replacement_timeout_s, 0u);
  EXPECT_EQ(back->portals, spec.portals);
  EXPECT_TRUE(back->spread_portals);
  // Records from before these fields existed take the defaults.
  auto old = VolumeSpecFromJson({{"name", "v"}, {"url", "mem://64M"}});
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->replacement_timeout_s, 120u);
  EXPECT_TRUE(old->portals.empty());
}

TEST(VolumeSpecTest, AbsoluteChapPathsAreAccepted) {
  VolumeSpec spec = Valid();
  spec.chap = "/etc/isergw/chap/vol1";
  EXPECT_TRUE(ValidateVolumeSpec(spec).ok());
}

TEST(VolumeSpecTest, DefaultNames) {
  EXPECT_EQ(DefaultVolumeName("iser://192.0.2.1/iqn.2026-11.example:vol1/0"), "vol1-lun0");
  EXPECT_EQ(DefaultVolumeName("iscsi://192.0.2.1/iqn.2026-11.example.storage/3"), "storage-lun3");
  EXPECT_EQ(DefaultVolumeName("file:///srv/images/disk%20one.img"), "disk-one.img");
  EXPECT_EQ(DefaultVolumeName("mem://64M"), "mem-64m");
  EXPECT_TRUE(ValidateVolumeName(DefaultVolumeName("file:///srv/.x")).ok());
}

TEST(VolumeSpecTest, JsonRoundTrip) {
  VolumeSpec spec = Valid();
  spec.queues = 4;
  spec.depth = 64;
  spec.transport = TransportChoice::kAuto;
  spec.persist = true;
  spec.chap = "vol1";
  spec.header_digest = "crc32c";
  spec.strict_rdma = true;
  auto back = VolumeSpecFromJson(VolumeSpecToJson(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(VolumeSpecToJson(*back), VolumeSpecToJson(spec));
}

TEST(VolumeSpecTest, WrongJsonTypesAreErrorsNotExceptions) {
  EXPECT_FALSE(VolumeSpecFromJson(nlohmann::json::array()).ok());
  EXPECT_FALSE(VolumeSpecFromJson({{"queues", "four"}}).ok());
  EXPECT_FALSE(VolumeSpecFromJson({{"queues", -1}}).ok());
  EXPECT_FALSE(VolumeSpecFromJson({{"queues", 70000}}).ok());
  EXPECT_FALSE(VolumeSpecFromJson({{"persist", 1}}).ok());
  EXPECT_FALSE(VolumeSpecFromJson({{"transport", "infiniband"}}).ok());
  EXPECT_FALSE(VolumeSpecFromJson({{"name", nullptr}}).ok());
}

}  // namespace
}  // namespace isergw::gateway
