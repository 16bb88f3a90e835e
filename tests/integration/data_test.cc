// Data integrity against tgtd: random writes and reads of 512 B .. 1 MiB with
// hundreds of commands in flight, checked byte for byte against the backing
// file (pread) and against what the initiator reads back; under digests, a
// wrapping CmdSN, small PDUs and bursts; and transfers far beyond
// MaxBurstLength.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/cdb.h"
#include "tests/integration/it_support.h"

namespace isergw::testing {
namespace {

constexpr uint64_t kLunBytes = 32ull << 20;
constexpr uint64_t kLunBlocks = kLunBytes / kBlockSize;
constexpr uint32_t kMaxIoBlocks = (1u << 20) / kBlockSize;
const uint64_t kLun1 = scsi::EncodeLun(1);

// The first offset where `a` and `b` differ, or -1.
int64_t FirstDifference(const uint8_t* a, const uint8_t* b, size_t length) {
  if (memcmp(a, b, length) == 0) return -1;
  for (size_t i = 0; i < length; ++i) {
    if (a[i] != b[i]) return static_cast<int64_t>(i);
  }
  return -1;
}

struct Variant {
  std::string name;
  bool digests = false;
  uint32_t initial_cmd_sn = 1;
  uint32_t max_recv_data_segment_length = 262144;
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  bool immediate_data = true;
  bool initial_r2t = false;
  // tgtd's own settings for the target (name, value).
  std::vector<std::pair<std::string, std::string>> target_params;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

// Applies the variant's target settings (digests need the target to allow
// them: tgtd answers None unless told otherwise).
absl::Status ConfigureTarget(Tgtd& tgtd, const Variant& v) {
  if (v.digests) {
    if (absl::Status st = tgtd.SetTargetParam(1, "HeaderDigest", "CRC32C"); !st.ok()) return st;
    if (absl::Status st = tgtd.SetTargetParam(1, "DataDigest", "CRC32C"); !st.ok()) return st;
  }
  for (const auto& [name, value] : v.target_params) {
    if (absl::Status st = tgtd.SetTargetParam(1, name, value); !st.ok()) return st;
  }
  return absl::OkStatus();
}

// Logs in with the variant's options and probes LUN 1 (which also takes
// the UNIT ATTENTION a new I_T nexus reports first).
absl::StatusOr<std::unique_ptr<iscsi::Initiator>> LoginAndProbe(uring::EventLoop* loop,
                                                                const TargetWithLun& t,
                                                                const Variant& v,
                                                                iscsi::LunInfo* info) {
  if (absl::Status st = ConfigureTarget(*t.tgtd, v); !st.ok()) return st;
  iscsi::InitiatorOptions options = OptionsFor(*t.tgtd, t.iqn);
  options.session.max_commands = 512;
  options.session.initial_cmd_sn = v.initial_cmd_sn;
  iscsi::NegotiationOptions& n = options.session.login.negotiation;
  if (v.digests) {
    n.header_digests = {iscsi::Digest::kCrc32c};
    n.data_digests = {iscsi::Digest::kCrc32c};
  }
  n.max_recv_data_segment_length = v.max_recv_data_segment_length;
  n.max_burst_length = v.max_burst_length;
  n.first_burst_length = v.first_burst_length;
  n.immediate_data = v.immediate_data;
  n.initial_r2t = v.initial_r2t;
  auto initiator = iscsi::Initiator::Login(loop, std::move(options));
  if (!initiator.ok()) return initiator.status();
  auto probed = iscsi::ProbeLun(**initiator, 1);
  if (!probed.ok()) return probed.status();
  *info = *probed;
  return initiator;
}

class DataTest : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    auto t = StartTargetWithLun(kLunBytes);
    ASSERT_TRUE(t.ok()) << t.status();
    target_ = std::move(*t);
    loop_ = NewLoop();
    auto initiator = LoginAndProbe(loop_.get(), target_, GetParam(), &info_);
    ASSERT_TRUE(initiator.ok()) << initiator.status();
    initiator_ = std::move(*initiator);
    shadow_.assign(kLunBytes, 0);
  }

  void TearDown() override {
    if (initiator_) {
      EXPECT_TRUE(initiator_->Logout().ok());
    }
    initiator_.reset();
    if (loop_) DrainLoop(loop_.get());
  }

  CommandBatch NewBatch() { return CommandBatch(initiator_->session(), loop_.get(), kLun1); }

  // Every byte of the backing file equals the shadow image.
  void ExpectBackingFileMatchesShadow() {
    std::vector<uint8_t> file = ReadFileBytes(target_.backing_path, 0, kLunBytes);
    ASSERT_EQ(file.size(), kLunBytes);
    int64_t diff = FirstDifference(file.data(), shadow_.data(), kLunBytes);
    EXPECT_EQ(diff, -1) << "backing file differs from what was written at byte " << diff;
  }

  // Reads the whole LUN back in random-sized reads, all in flight at once,
  // and compares with the shadow image.
  void ExpectReadBackMatchesShadow(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> back(kLunBytes, 0x5a);
    CommandBatch batch = NewBatch();
    for (uint64_t lba = 0; lba < kLunBlocks;) {
      uint32_t blocks =
          static_cast<uint32_t>(std::min<uint64_t>(1 + rng() % kMaxIoBlocks, kLunBlocks - lba));
      batch.AddRead(lba, blocks, back.data() + lba * kBlockSize);
      lba += blocks;
    }
    absl::Status ran = batch.RunAll();
    ASSERT_TRUE(ran.ok()) << ran;
    int64_t diff = FirstDifference(back.data(), shadow_.data(), kLunBytes);
    EXPECT_EQ(diff, -1) << "read back differs from what was written at byte " << diff;
  }

  // One round: `count` commands (about a third reads) at random places and
  // sizes (log-uniform 1..2048 blocks), none overlapping another of the
  // round, all submitted before any is waited for.
  void RandomRound(std::mt19937_64& rng, int count) {
    std::map<uint64_t, uint64_t> taken;  // start lba -> end lba
    auto overlaps = [&](uint64_t lba, uint64_t end) {
      auto it = taken.lower_bound(end);
      if (it == taken.begin()) return false;
      --it;
      return it->second > lba;
    };
    struct Op {
      uint64_t lba;
      uint32_t blocks;
      bool write;
      size_t offset;  // in the round's arena
    };
    std::vector<Op> ops;
    size_t arena_bytes = 0;
    for (int i = 0; i < count; ++i) {
      for (int attempt = 0; attempt < 50; ++attempt) {
        double log_size = std::uniform_real_distribution<double>(0, std::log(kMaxIoBlocks))(rng);
        uint32_t blocks =
            std::clamp<uint32_t>(static_cast<uint32_t>(std::exp(log_size) + 0.5), 1, kMaxIoBlocks);
        uint64_t lba = rng() % (kLunBlocks - blocks + 1);
        if (overlaps(lba, lba + blocks)) continue;
        taken[lba] = lba + blocks;
        ops.push_back({lba, blocks, rng() % 3 != 0, arena_bytes});
        arena_bytes += size_t{blocks} * kBlockSize;
        break;
      }
    }
    ASSERT_GE(ops.size(), static_cast<size_t>(count) * 9 / 10);
    std::vector<uint8_t> arena(arena_bytes, 0xee);
    CommandBatch batch = NewBatch();
    for (const Op& op : ops) {
      uint8_t* buf = arena.data() + op.offset;
      if (op.write) {
        FillRandom(buf, size_t{op.blocks} * kBlockSize, rng());
        batch.AddWrite(op.lba, op.blocks, buf);
      } else {
        batch.AddRead(op.lba, op.blocks, buf);
      }
    }
    absl::Status ran = batch.RunAll();
    ASSERT_TRUE(ran.ok()) << ran;
    for (const Op& op : ops) {
      uint8_t* buf = arena.data() + op.offset;
      uint8_t* image = shadow_.data() + op.lba * kBlockSize;
      size_t bytes = size_t{op.blocks} * kBlockSize;
      if (op.write) {
        memcpy(image, buf, bytes);
      } else {
        int64_t diff = FirstDifference(buf, image, bytes);
        ASSERT_EQ(diff, -1) << "read of lba " << op.lba << " +" << op.blocks << " differs at byte "
                            << diff;
      }
    }
  }

  TargetWithLun target_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<iscsi::Initiator> initiator_;
  iscsi::LunInfo info_;
  std::vector<uint8_t> shadow_;
};

TEST_P(DataTest, RandomWritesAndReadsMatchBackingFile) {
  const Variant& v = GetParam();
  const iscsi::SessionParams& params = initiator_->session().params();
  if (v.digests) {
    ASSERT_EQ(params.header_digest, iscsi::Digest::kCrc32c);
    ASSERT_EQ(params.data_digest, iscsi::Digest::kCrc32c);
  } else {
    ASSERT_EQ(params.header_digest, iscsi::Digest::kNone);
  }
  // The variant really is what the session runs with.
  ASSERT_LE(params.max_burst_length, v.max_burst_length);
  EXPECT_EQ(params.MaxRecvDataSegmentLength(), v.max_recv_data_segment_length);
  EXPECT_EQ(params.immediate_data, v.immediate_data);
  bool target_waives_r2t = false;
  for (const auto& [name, value] : v.target_params) {
    if (name == "InitialR2T" && value == "No") target_waives_r2t = true;
  }
  EXPECT_EQ(params.initial_r2t, v.initial_r2t || !target_waives_r2t);
  std::mt19937_64 rng(std::hash<std::string>()(v.name));
  for (int round = 0; round < 3; ++round) {
    ASSERT_NO_FATAL_FAILURE(RandomRound(rng, 250)) << "round " << round;
  }
  ExpectBackingFileMatchesShadow();
  ExpectReadBackMatchesShadow(rng());
  const iscsi::SessionStats& stats = initiator_->session().stats();
  EXPECT_EQ(stats.protocol_errors, 0u);
  EXPECT_GT(stats.r2ts, 0u);  // writes beyond the first burst were solicited
  if (v.initial_cmd_sn > 0xfffff000u) {
    // Enough commands went out for CmdSN to pass 2^32 and start again at 0.
    EXPECT_GT(uint64_t{v.initial_cmd_sn} + stats.commands, 0x100000000ull);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Variants, DataTest,
    ::testing::Values(
        Variant{.name = "Plain"}, Variant{.name = "Crc32cDigests", .digests = true},
        Variant{.name = "CmdSnWraps", .initial_cmd_sn = 0xffffff00u},
        Variant{.name = "DigestsAndCmdSnWrap", .digests = true, .initial_cmd_sn = 0xfffffff0u},
        Variant{.name = "SmallSegmentsAndBursts",
                .max_recv_data_segment_length = 4096,
                .max_burst_length = 16384,
                .first_burst_length = 8192},
        Variant{.name = "SolicitedOnly", .immediate_data = false, .initial_r2t = true},
        // tgtd insists on InitialR2T=Yes unless configured:
        // this one sends unsolicited Data-Out too.
        Variant{.name = "UnsolicitedData",
                .first_burst_length = 32768,
                .target_params = {{"InitialR2T", "No"}}},
        Variant{.name = "UnsolicitedDataNoImmediate",
                .immediate_data = false,
                .target_params = {{"InitialR2T", "No"}}}),
    [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

// 4 MiB commands, many times MaxBurstLength and the data segment sizes: the
// write needs a run of R2Ts, the read many Data-In sequences.
class LargeTransferTest : public ::testing::TestWithParam<Variant> {};

TEST_P(LargeTransferTest, FourMiBWritesAndReads) {
  const Variant& v = GetParam();
  auto t = StartTargetWithLun(kLunBytes);
  ASSERT_TRUE(t.ok()) << t.status();
  auto loop = NewLoop();
  DrainOnExit drain{loop.get()};
  iscsi::LunInfo lun_info;
  auto initiator = LoginAndProbe(loop.get(), *t, v, &lun_info);
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  const iscsi::SessionParams& params = (*initiator)->session().params();
  constexpr uint32_t kBytes = 4u << 20;
  ASSERT_GT(kBytes, params.max_burst_length * 4);
  const iscsi::LunInfo* info = &lun_info;
  if (info->max_transfer_bytes() != 0) {
    ASSERT_GE(info->max_transfer_bytes(), kBytes);
  }

  // Three 4 MiB writes at once (one at an offset that is no multiple of
  // the burst), then one more just short of 4 MiB; read all back.
  const uint64_t lbas[] = {0, 8192 + 3, 3 * 8192 + 77};
  const uint32_t sizes[] = {kBytes, kBytes, kBytes - 7 * kBlockSize};
  std::vector<std::vector<uint8_t>> data(3);
  CommandBatch writes((*initiator)->session(), loop.get(), kLun1);
  for (int i = 0; i < 3; ++i) {
    data[i].resize(sizes[i]);
    FillRandom(data[i].data(), sizes[i], 100 + i);
    writes.AddWrite(lbas[i], sizes[i] / kBlockSize, data[i].data());
  }
  absl::Status ran = writes.RunAll();
  ASSERT_TRUE(ran.ok()) << ran;
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> file = ReadFileBytes(t->backing_path, lbas[i] * kBlockSize, sizes[i]);
    ASSERT_EQ(file.size(), sizes[i]);
    int64_t diff = FirstDifference(file.data(), data[i].data(), sizes[i]);
    EXPECT_EQ(diff, -1) << "write " << i << " differs in the backing file at byte " << diff;
  }
  std::vector<std::vector<uint8_t>> back(3);
  CommandBatch reads((*initiator)->session(), loop.get(), kLun1);
  for (int i = 0; i < 3; ++i) {
    back[i].assign(sizes[i], 0x77);
    reads.AddRead(lbas[i], sizes[i] / kBlockSize, back[i].data());
  }
  ran = reads.RunAll();
  ASSERT_TRUE(ran.ok()) << ran;
  for (int i = 0; i < 3; ++i) {
    int64_t diff = FirstDifference(back[i].data(), data[i].data(), sizes[i]);
    EXPECT_EQ(diff, -1) << "read " << i << " differs at byte " << diff;
  }
  // Through the blocking API too, past a write's edge: the bytes after the
  // second write are the backing file's zeros.
  std::vector<uint8_t> edge(kBytes, 0x33);
  auto outcome = (*initiator)
                     ->Execute(kLun1, scsi::MakeRead(lbas[0] + 4096, kBytes / kBlockSize, false),
                               iscsi::DataDirection::kRead, edge);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  std::vector<uint8_t> expected =
      ReadFileBytes(t->backing_path, (lbas[0] + 4096) * kBlockSize, kBytes);
  EXPECT_EQ(FirstDifference(edge.data(), expected.data(), kBytes), -1);
  EXPECT_EQ((*initiator)->session().stats().protocol_errors, 0u);
  EXPECT_TRUE((*initiator)->Logout().ok());
}

INSTANTIATE_TEST_SUITE_P(
    Variants, LargeTransferTest,
    ::testing::Values(Variant{.name = "DefaultBurst"},
                      Variant{.name = "SmallBurstAndSegments",
                              .max_recv_data_segment_length = 8192,
                              .max_burst_length = 65536,
                              .first_burst_length = 16384},
                      Variant{.name = "UnsolicitedData", .target_params = {{"InitialR2T", "No"}}},
                      Variant{.name = "Crc32cDigests", .digests = true}),
    [](const ::testing::TestParamInfo<Variant>& info) { return info.param.name; });

}  // namespace
}  // namespace isergw::testing
