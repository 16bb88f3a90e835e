// UNMAP and WRITE SAME(16) against a thin-provisioned tgtd LUN (logicalunit
// param thin_provisioning=1), checked on the backing file: unmapped ranges
// read as zeros (tgt punches holes), WRITE SAME repeats its block, and the
// blocks around every range are untouched.
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/scsi/cdb.h"
#include "tests/integration/it_support.h"

namespace isergw::testing {
namespace {

constexpr uint64_t kLunBytes = 16ull << 20;
const uint64_t kLun1 = scsi::EncodeLun(1);

class ProvisioningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = StartTargetWithLun(kLunBytes, "thin_provisioning=1");
    ASSERT_TRUE(t.ok()) << t.status();
    target_ = std::move(*t);
    // Known, non-zero content everywhere, written straight into the file
    // (tgt's rdwr store reads it with pread, no cache of its own).
    image_.resize(kLunBytes);
    FillRandom(image_.data(), kLunBytes, 42);
    int fd = open(target_.backing_path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, image_.data(), kLunBytes, 0), static_cast<ssize_t>(kLunBytes));
    close(fd);
    loop_ = NewLoop();
    auto initiator = iscsi::Initiator::Login(loop_.get(), OptionsFor(*target_.tgtd, target_.iqn));
    ASSERT_TRUE(initiator.ok()) << initiator.status();
    initiator_ = std::move(*initiator);
    auto info = iscsi::ProbeLun(*initiator_, 1);
    ASSERT_TRUE(info.ok()) << info.status();
    info_ = *info;
  }

  void TearDown() override {
    if (initiator_) {
      EXPECT_TRUE(initiator_->Logout().ok());
    }
    initiator_.reset();
    if (loop_) DrainLoop(loop_.get());
  }

  // The backing file equals image_ everywhere.
  void ExpectFileMatchesImage() {
    std::vector<uint8_t> file = ReadFileBytes(target_.backing_path, 0, kLunBytes);
    ASSERT_EQ(file.size(), kLunBytes);
    if (memcmp(file.data(), image_.data(), kLunBytes) == 0) return;
    for (size_t i = 0; i < kLunBytes; ++i) {
      if (file[i] != image_[i]) {
        ADD_FAILURE() << "backing file differs at byte " << i << " (block " << i / kBlockSize
                      << "): 0x" << std::hex << int{file[i]} << " instead of 0x" << int{image_[i]};
        return;
      }
    }
  }

  // What the initiator reads from the LUN equals image_.
  void ExpectReadBackMatchesImage() {
    std::vector<uint8_t> back(kLunBytes, 0x5a);
    CommandBatch batch(initiator_->session(), loop_.get(), kLun1);
    constexpr uint32_t kChunkBlocks = 2048;
    for (uint64_t lba = 0; lba < kLunBytes / kBlockSize; lba += kChunkBlocks) {
      batch.AddRead(lba, kChunkBlocks, back.data() + lba * kBlockSize);
    }
    absl::Status ran = batch.RunAll();
    ASSERT_TRUE(ran.ok()) << ran;
    EXPECT_EQ(memcmp(back.data(), image_.data(), kLunBytes), 0);
  }

  // True when [offset, offset + length) of the backing file has a hole.
  bool HasHole(uint64_t offset, uint64_t length) {
    int fd = open(target_.backing_path.c_str(), O_RDONLY);
    off_t hole = lseek(fd, static_cast<off_t>(offset), SEEK_HOLE);
    close(fd);
    return hole >= 0 && static_cast<uint64_t>(hole) < offset + length;
  }

  void ZeroInImage(uint64_t lba, uint64_t blocks) {
    memset(image_.data() + lba * kBlockSize, 0, blocks * kBlockSize);
  }

  TargetWithLun target_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<iscsi::Initiator> initiator_;
  iscsi::LunInfo info_;
  std::vector<uint8_t> image_;
};

TEST_F(ProvisioningTest, LunReportsThinProvisioning) {
  EXPECT_TRUE(info_.thin_provisioned);
  EXPECT_TRUE(info_.supports_unmap());
  EXPECT_EQ(info_.size_bytes(), kLunBytes);
}

TEST_F(ProvisioningTest, UnmapZeroesExactlyTheRanges) {
  ASSERT_TRUE(info_.supports_unmap());
  const scsi::UnmapRange ranges[] = {{100, 50}, {4096, 2048}, {20001, 1}, {32767, 1}};
  std::vector<uint8_t> params(scsi::UnmapParameterListLength(std::size(ranges)));
  auto length = scsi::BuildUnmapParameterList(ranges, params);
  ASSERT_TRUE(length.ok()) << length.status();
  auto outcome =
      initiator_->Execute(kLun1, scsi::MakeUnmap(static_cast<uint16_t>(*length)),
                          iscsi::DataDirection::kWrite, std::span<uint8_t>(params.data(), *length));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  for (const auto& r : ranges) ZeroInImage(r.lba, r.blocks);
  ExpectFileMatchesImage();
  // The 1 MiB range at a 2 MiB boundary is deallocated, not written.
  EXPECT_TRUE(HasHole(4096 * kBlockSize, 2048 * kBlockSize));
  ExpectReadBackMatchesImage();
}

TEST_F(ProvisioningTest, WriteSameRepeatsTheBlock) {
  std::vector<uint8_t> block(kBlockSize);
  FillRandom(block.data(), kBlockSize, 7);
  constexpr uint64_t kLba = 8003;
  constexpr uint32_t kBlocks = 300;
  auto outcome = initiator_->Execute(kLun1, scsi::MakeWriteSame16(kLba, kBlocks),
                                     iscsi::DataDirection::kWrite, block);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  for (uint32_t i = 0; i < kBlocks; ++i) {
    memcpy(image_.data() + (kLba + i) * kBlockSize, block.data(), kBlockSize);
  }
  ExpectFileMatchesImage();
  ExpectReadBackMatchesImage();
}

TEST_F(ProvisioningTest, WriteSameWithUnmapZeroesTheRange) {
  ASSERT_TRUE(info_.supports_write_same_unmap());
  std::vector<uint8_t> zero_block(kBlockSize, 0);
  constexpr uint64_t kLba = 12288;  // 6 MiB: whole 4 KiB pages
  constexpr uint32_t kBlocks = 4096;
  scsi::WriteSameFlags flags;
  flags.unmap = true;
  auto outcome = initiator_->Execute(kLun1, scsi::MakeWriteSame16(kLba, kBlocks, flags),
                                     iscsi::DataDirection::kWrite, zero_block);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  // A second, unaligned range.
  outcome = initiator_->Execute(kLun1, scsi::MakeWriteSame16(30001, 5, flags),
                                iscsi::DataDirection::kWrite, zero_block);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ZeroInImage(kLba, kBlocks);
  ZeroInImage(30001, 5);
  ExpectFileMatchesImage();
  ExpectReadBackMatchesImage();
}

TEST_F(ProvisioningTest, UnmapPastTheEndIsRefusedAndChangesNothing) {
  const scsi::UnmapRange ranges[] = {{kLunBytes / kBlockSize - 10, 20}};
  std::vector<uint8_t> params(scsi::UnmapParameterListLength(1));
  auto length = scsi::BuildUnmapParameterList(ranges, params);
  ASSERT_TRUE(length.ok());
  auto outcome = initiator_->Execute(kLun1, scsi::MakeUnmap(static_cast<uint16_t>(*length)),
                                     iscsi::DataDirection::kWrite, params);
  EXPECT_FALSE(outcome.ok());
  ExpectFileMatchesImage();
}

}  // namespace
}  // namespace isergw::testing
