#include "ublk/params.h"

#include <gtest/gtest.h>

namespace isergw::ublk {
namespace {

Geometry GoodGeometry() {
  Geometry g;
  g.capacity_bytes = 1 << 30;
  g.logical_block_size = 512;
  g.physical_block_size = 4096;
  g.max_io_bytes = 512 * 1024;
  g.discard_granularity = 4096;
  g.max_discard_bytes = 64 << 20;
  g.max_write_zeroes_bytes = 32 << 20;
  g.volatile_cache = true;
  g.fua = true;
  return g;
}

TEST(ValidateOptionsTest, QueuesAndDepth) {
  EXPECT_TRUE(ValidateOptions({.queues = 1, .depth = 128}, 2).ok());
  EXPECT_TRUE(ValidateOptions({.queues = 2, .depth = 4096}, 2).ok());
  absl::Status zero = ValidateOptions({.queues = 0, .depth = 128}, 2);
  EXPECT_EQ(zero.code(), absl::StatusCode::kInvalidArgument);
  absl::Status many = ValidateOptions({.queues = 3, .depth = 128}, 2);
  EXPECT_EQ(many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(many.message().find("too many queues: 3"), absl::string_view::npos) << many;
  EXPECT_NE(many.message().find("at most 2"), absl::string_view::npos) << many;
  // The driver's own ceiling applies on big machines.
  EXPECT_FALSE(ValidateOptions({.queues = 4097, .depth = 1}, 100000).ok());
  EXPECT_FALSE(ValidateOptions({.queues = 1, .depth = 0}, 2).ok());
  absl::Status deep = ValidateOptions({.queues = 1, .depth = 4097}, 2);
  EXPECT_NE(deep.message().find("--depth"), absl::string_view::npos) << deep;
}

TEST(ValidateGeometryTest, AcceptsAGoodGeometry) {
  EXPECT_TRUE(ValidateGeometry(GoodGeometry()).ok());
}

TEST(ValidateGeometryTest, ZeroSize) {
  Geometry g = GoodGeometry();
  g.capacity_bytes = 0;
  absl::Status s = ValidateGeometry(g);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("size is zero"), absl::string_view::npos) << s;
}

TEST(ValidateGeometryTest, BlockSizeMustBeAPowerOfTwoIn512To4096) {
  for (uint32_t bad : {0u, 256u, 1000u, 1536u, 8192u}) {
    Geometry g = GoodGeometry();
    g.logical_block_size = bad;
    g.physical_block_size = 0;
    absl::Status s = ValidateGeometry(g);
    EXPECT_NE(s.message().find("not a power of two"), absl::string_view::npos) << bad << " " << s;
  }
  for (uint32_t good : {512u, 1024u, 2048u, 4096u}) {
    Geometry g = GoodGeometry();
    g.logical_block_size = good;
    g.physical_block_size = 0;
    EXPECT_TRUE(ValidateGeometry(g).ok()) << good;
  }
}

TEST(ValidateGeometryTest, PhysicalBlockSize) {
  Geometry g = GoodGeometry();
  g.logical_block_size = 4096;
  g.physical_block_size = 512;  // below logical
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g.physical_block_size = 12288;
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g.physical_block_size = 0;  // same as logical
  EXPECT_TRUE(ValidateGeometry(g).ok());
}

TEST(ValidateGeometryTest, CapacityInWholeBlocks) {
  Geometry g = GoodGeometry();
  g.logical_block_size = 4096;
  g.capacity_bytes = (1 << 20) + 512;
  EXPECT_FALSE(ValidateGeometry(g).ok());
}

TEST(ValidateGeometryTest, Limits) {
  Geometry g = GoodGeometry();
  g.max_io_bytes = 1000;
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g = GoodGeometry();
  g.max_io_bytes = 64u << 20;
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g = GoodGeometry();
  g.discard_granularity = 3000;
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g = GoodGeometry();
  g.max_discard_bytes = 0;
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g = GoodGeometry();
  g.max_write_zeroes_bytes = 100;
  EXPECT_FALSE(ValidateGeometry(g).ok());
  g = GoodGeometry();
  g.volatile_cache = false;  // FUA needs a cache to bypass
  EXPECT_FALSE(ValidateGeometry(g).ok());
}

TEST(DeviceFlagsTest, RecoveryAlwaysReissueWhereAvailable) {
  EXPECT_EQ(ChooseDeviceFlags(UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE, true),
            UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE);
  EXPECT_EQ(ChooseDeviceFlags(UBLK_F_USER_RECOVERY, true), uint64_t{UBLK_F_USER_RECOVERY});
  // 6.1-6.4 have both but no GET_FEATURES.
  EXPECT_EQ(ChooseDeviceFlags(0, false), UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE);
}

TEST(BuildTest, DeviceInfo) {
  ublksrv_ctrl_dev_info info =
      BuildDeviceInfo({.queues = 2, .depth = 64}, GoodGeometry(), UBLK_F_USER_RECOVERY);
  EXPECT_EQ(info.nr_hw_queues, 2);
  EXPECT_EQ(info.queue_depth, 64);
  EXPECT_EQ(info.max_io_buf_bytes, 512u * 1024);
  EXPECT_EQ(info.dev_id, ~0u);
  EXPECT_EQ(info.flags, uint64_t{UBLK_F_USER_RECOVERY});
}

TEST(BuildTest, ParamsCarryTheGeometry) {
  ublk_params p = BuildParams(GoodGeometry(), 512 * 1024);
  EXPECT_EQ(p.len, sizeof(ublk_params));
  EXPECT_EQ(p.types, uint32_t{UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD});
  EXPECT_EQ(p.basic.logical_bs_shift, 9);
  EXPECT_EQ(p.basic.physical_bs_shift, 12);
  EXPECT_EQ(p.basic.max_sectors, 1024u);
  EXPECT_EQ(p.basic.dev_sectors, uint64_t{1} << 21);
  EXPECT_EQ(p.basic.attrs, uint32_t{UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA});
  EXPECT_EQ(p.discard.discard_granularity, 4096u);
  EXPECT_EQ(p.discard.max_discard_sectors, uint32_t{(64 << 20) >> 9});
  EXPECT_EQ(p.discard.max_write_zeroes_sectors, uint32_t{(32 << 20) >> 9});
  EXPECT_EQ(p.discard.max_discard_segments, 1);
}

TEST(BuildTest, PreferredIoSizesBecomeMinAndOptimalShifts) {
  Geometry g = GoodGeometry();  // 4 KiB physical blocks
  ublk_params p = BuildParams(g, 512 * 1024);
  EXPECT_EQ(p.basic.io_min_shift, 12) << "unset: the physical block";
  EXPECT_EQ(p.basic.io_opt_shift, 12);
  g.min_io_bytes = 8192;
  g.optimal_io_bytes = 3 * 65536;  // not a power of two: rounded down
  p = BuildParams(g, 512 * 1024);
  EXPECT_EQ(p.basic.io_min_shift, 13);
  EXPECT_EQ(p.basic.io_opt_shift, 17);
  g.min_io_bytes = 512;  // below a physical block: the block
  p = BuildParams(g, 512 * 1024);
  EXPECT_EQ(p.basic.io_min_shift, 12);
}

TEST(BuildTest, MaxSectorsNeverExceedsTheDriversBuffer) {
  ublk_params p = BuildParams(GoodGeometry(), 256 * 1024);
  EXPECT_EQ(p.basic.max_sectors, 512u);
}

TEST(BuildTest, NoDiscardTypeWithoutDiscardOrWriteZeroes) {
  Geometry g = GoodGeometry();
  g.discard_granularity = 0;
  g.max_discard_bytes = 0;
  g.max_write_zeroes_bytes = 0;
  g.volatile_cache = false;
  g.fua = false;
  g.read_only = true;
  ublk_params p = BuildParams(g, 512 * 1024);
  EXPECT_EQ(p.types, uint32_t{UBLK_PARAM_TYPE_BASIC});
  EXPECT_EQ(p.basic.attrs, uint32_t{UBLK_ATTR_READ_ONLY});
}

TEST(BuildTest, WriteZeroesAloneStillNamesAGranularity) {
  Geometry g = GoodGeometry();
  g.discard_granularity = 0;
  g.max_discard_bytes = 0;
  ublk_params p = BuildParams(g, 512 * 1024);
  EXPECT_TRUE(p.types & UBLK_PARAM_TYPE_DISCARD);
  EXPECT_EQ(p.discard.max_discard_sectors, 0u);
  EXPECT_EQ(p.discard.discard_granularity, 512u);  // the driver rejects 0
}

TEST(Log2Test, Powers) {
  EXPECT_EQ(Log2(1), 0);
  EXPECT_EQ(Log2(512), 9);
  EXPECT_EQ(Log2(4096), 12);
}

}  // namespace
}  // namespace isergw::ublk
