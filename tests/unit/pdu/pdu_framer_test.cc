#include "iser_client/pdu/pdu_framer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "iser_client/pdu/bhs.h"
#include "iser_client/pdu/digest.h"
#include "iser_client/pdu/padding.h"

namespace isergw::iscsi {
namespace {

using ::testing::HasSubstr;

// Lays out one PDU on the wire the way a sender does, using ComputePduLayout.
std::vector<uint8_t> Assemble(const std::array<uint8_t, kBhsSize>& bhs,
                              const std::vector<uint8_t>& ahs, const std::vector<uint8_t>& data,
                              bool header_digest, bool data_digest) {
  const PduHeaderLayout l = ComputePduLayout(ahs.size(), data.size(), header_digest, data_digest);
  std::vector<uint8_t> wire(l.wire_length, 0xee);
  std::span<uint8_t> w(wire);
  std::copy(bhs.begin(), bhs.end(), wire.begin());
  std::copy(ahs.begin(), ahs.end(), wire.begin() + kBhsSize);
  if (l.has_header_digest) {
    StoreDigest(Crc32c(w.first(l.header_digest_offset)),
                w.subspan(l.header_digest_offset).first<kDigestSize>());
  }
  std::copy(data.begin(), data.end(), wire.begin() + l.data_offset);
  std::fill_n(wire.begin() + l.data_offset + data.size(), l.pad_length, 0);
  if (l.has_data_digest) {
    StoreDigest(DataDigest(data), w.subspan(l.data_digest_offset).first<kDigestSize>());
  }
  return wire;
}

template <typename Header>
std::vector<uint8_t> BuildPdu(Header h, const std::vector<uint8_t>& ahs,
                              const std::vector<uint8_t>& data, bool header_digest,
                              bool data_digest) {
  std::array<uint8_t, kBhsSize> bhs;
  if constexpr (requires { h.total_ahs_length; }) {
    h.total_ahs_length = static_cast<uint8_t>(ahs.size() / 4);
    h.data_segment_length = static_cast<uint32_t>(data.size());
  }
  Encode(h, bhs);
  return Assemble(bhs, ahs, data, header_digest, data_digest);
}

std::vector<uint8_t> Iota(size_t n, uint8_t start = 1) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(start + i);
  return v;
}

FramingLimits Limits(bool hd, bool dd, uint32_t max = 8192) {
  return FramingLimits{.header_digest = hd, .data_digest = dd, .max_recv_data_segment_length = max};
}

TEST(PduLayout, Offsets) {
  PduHeaderLayout l = ComputePduLayout(0, 0, false, false);
  EXPECT_EQ(l.wire_length, 48u);
  EXPECT_EQ(l.data_offset, 48u);
  EXPECT_FALSE(l.has_header_digest);
  EXPECT_FALSE(l.has_data_digest);

  l = ComputePduLayout(8, 5, true, true);
  EXPECT_TRUE(l.has_header_digest);
  EXPECT_EQ(l.header_digest_offset, 56u);
  EXPECT_EQ(l.data_offset, 60u);
  EXPECT_EQ(l.data_length, 5u);
  EXPECT_EQ(l.pad_length, 3u);
  EXPECT_TRUE(l.has_data_digest);
  EXPECT_EQ(l.data_digest_offset, 68u);
  EXPECT_EQ(l.wire_length, 72u);

  // No data digest without data, even when negotiated.
  l = ComputePduLayout(0, 0, true, true);
  EXPECT_FALSE(l.has_data_digest);
  EXPECT_EQ(l.wire_length, 52u);

  l = ComputePduLayout(0, 8, false, true);
  EXPECT_EQ(l.pad_length, 0u);
  EXPECT_EQ(l.data_digest_offset, 56u);
  EXPECT_EQ(l.wire_length, 60u);
}

void CheckEverySplit(const std::vector<uint8_t>& wire, const FramingLimits& limits,
                     size_t data_offset, size_t data_length) {
  for (size_t n = 0; n < wire.size(); ++n) {
    // Copy the prefix into its own buffer so ASan catches any overread.
    std::vector<uint8_t> prefix(wire.begin(), wire.begin() + n);
    size_t needed = 0;
    auto r = TryFrame(prefix, limits, &needed);
    ASSERT_TRUE(r.ok()) << "split " << n << ": " << r.status();
    ASSERT_FALSE(r->has_value()) << "split " << n;
    EXPECT_EQ(needed, n < kBhsSize ? kBhsSize : wire.size()) << "split " << n;
  }
  size_t needed = 0;
  auto r = TryFrame(wire, limits, &needed);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  const PduView& v = **r;
  EXPECT_EQ(v.wire_length, wire.size());
  EXPECT_EQ(needed, wire.size());
  EXPECT_EQ(v.bhs.data(), wire.data());
  EXPECT_EQ(v.data.data(), wire.data() + data_offset);
  EXPECT_EQ(v.data.size(), data_length);
}

TEST(PduFramer, EverySplitPointWithoutDigests) {
  const auto data = Iota(5);
  const auto wire = BuildPdu(NopInHeader{.itt = 7}, {}, data, false, false);
  ASSERT_EQ(wire.size(), 48u + 8u);
  CheckEverySplit(wire, Limits(false, false), 48, 5);
  auto r = TryFrame(wire, Limits(false, false));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), (*r)->data.begin()));
  EXPECT_TRUE((*r)->ahs.empty());
  EXPECT_EQ(PeekItt((*r)->bhs), 7u);
}

TEST(PduFramer, EverySplitPointWithDigests) {
  const auto data = Iota(13);
  const auto wire = BuildPdu(DataInHeader{.itt = 9, .data_sn = 1}, {}, data, true, true);
  ASSERT_EQ(wire.size(), 48u + 4u + 16u + 4u);
  CheckEverySplit(wire, Limits(true, true), 52, 13);
}

TEST(PduFramer, HeaderDigestOnlyAndDataDigestOnly) {
  const auto data = Iota(6);
  auto wire = BuildPdu(TextResponseHeader{}, {}, data, true, false);
  CheckEverySplit(wire, Limits(true, false), 52, 6);
  wire = BuildPdu(TextResponseHeader{}, {}, data, false, true);
  CheckEverySplit(wire, Limits(false, true), 48, 6);
}

TEST(PduFramer, NoDataNoDataDigest) {
  const auto wire =
      BuildPdu(R2tHeader{.ttt = 1, .desired_data_transfer_length = 8}, {}, {}, true, true);
  ASSERT_EQ(wire.size(), 52u);
  CheckEverySplit(wire, Limits(true, true), 52, 0);
}

TEST(PduFramer, MultiplePdusInOneBuffer) {
  std::vector<uint8_t> stream;
  for (uint32_t i = 0; i < 5; ++i) {
    auto pdu = BuildPdu(DataInHeader{.itt = 100 + i, .data_sn = i}, {}, Iota(i * 3), true, true);
    stream.insert(stream.end(), pdu.begin(), pdu.end());
  }
  std::span<const uint8_t> rest(stream);
  for (uint32_t i = 0; i < 5; ++i) {
    auto r = TryFrame(rest, Limits(true, true));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(PeekItt((*r)->bhs), 100 + i);
    EXPECT_EQ((*r)->data.size(), i * 3);
    auto h = DecodeDataIn((*r)->bhs);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->data_sn, i);
    rest = rest.subspan((*r)->wire_length);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(PduFramer, BadHeaderDigest) {
  auto wire = BuildPdu(NopInHeader{}, {}, Iota(4), true, true);
  wire[20] ^= 0x01;  // flip a TTT bit
  auto r = TryFrame(wire, Limits(true, true));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("header digest"));
  // The header segment alone is enough to detect it.
  r = TryFrame(std::span(wire).first(52), Limits(true, true));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  // Corrupting the digest itself is caught too.
  wire = BuildPdu(NopInHeader{}, {}, Iota(4), true, true);
  wire[49] ^= 0x80;
  EXPECT_EQ(TryFrame(wire, Limits(true, true)).status().code(), absl::StatusCode::kDataLoss);
}

TEST(PduFramer, BadDataDigest) {
  const auto good = BuildPdu(DataInHeader{}, {}, Iota(10), true, true);
  for (size_t i = 52; i < good.size(); ++i) {  // data, pad and digest bytes
    auto wire = good;
    wire[i] ^= 0x10;
    auto r = TryFrame(wire, Limits(true, true));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << "byte " << i;
    EXPECT_THAT(r.status().message(), HasSubstr("data digest")) << "byte " << i;
  }
  EXPECT_TRUE(TryFrame(good, Limits(true, true)).ok());
}

TEST(PduFramer, DigestsIgnoredWhenNotNegotiated) {
  // Without digests the same bytes frame differently: a PDU built without
  // digests must not be checked for them.
  auto wire = BuildPdu(NopInHeader{}, {}, Iota(4), false, false);
  auto r = TryFrame(wire, Limits(false, false));
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->wire_length, 52u);
}

TEST(PduFramer, DataSegmentLengthLimit) {
  auto wire = BuildPdu(DataInHeader{}, {}, Iota(512), false, false);
  EXPECT_TRUE(TryFrame(wire, Limits(false, false, 512)).ok());
  auto r = TryFrame(wire, Limits(false, false, 511));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("DataSegmentLength 512 exceeds"));
  // Detected from the BHS alone, before the data arrives.
  r = TryFrame(std::span(wire).first(48), Limits(false, false, 511));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  // The maximal 24-bit length against a small limit.
  wire[5] = wire[6] = wire[7] = 0xff;
  r = TryFrame(std::span(wire).first(48), Limits(false, false));
  EXPECT_THAT(r.status().message(), HasSubstr("16777215"));
}

TEST(PduFramer, OpcodeDirection) {
  // Initiator-only opcode arriving from a target.
  auto wire = BuildPdu(ScsiCommandHeader{}, {}, {}, false, false);
  auto r = TryFrame(wire, Limits(false, false));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("SCSI-Command"));
  // The same PDU is fine when framing what an initiator sent.
  FramingLimits from_initiator = Limits(false, false);
  from_initiator.sender = PduSender::kInitiator;
  EXPECT_TRUE(TryFrame(wire, from_initiator).ok());
  // And a target PDU is not.
  auto nop_in = BuildPdu(NopInHeader{}, {}, {}, false, false);
  EXPECT_EQ(TryFrame(nop_in, from_initiator).status().code(), absl::StatusCode::kInvalidArgument);
  // Reserved and vendor-specific opcodes.
  for (uint8_t op : {0x07, 0x1c, 0x27, 0x30, 0x3c}) {
    nop_in[0] = op;
    r = TryFrame(nop_in, Limits(false, false));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << int{op};
    EXPECT_THAT(r.status().message(), HasSubstr("reserved or vendor specific"));
  }
}

TEST(PduFramer, AhsChain) {
  // Extended CDB AHS: AHSLength 9 (8 CDB bytes + reserved byte), type 1,
  // padded to 12 bytes.
  std::vector<uint8_t> ahs = {0x00, 0x09, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};
  FramingLimits from_initiator = Limits(true, true);
  from_initiator.sender = PduSender::kInitiator;
  auto wire = BuildPdu(ScsiCommandHeader{}, ahs, Iota(4), true, true);
  CheckEverySplit(wire, from_initiator, 48 + 12 + 4, 4);
  auto r = TryFrame(wire, from_initiator);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->ahs.size(), 12u);
  EXPECT_EQ((*r)->ahs[2], 0x01);

  // AHS whose length runs past TotalAHSLength.
  ahs[1] = 0x0a;  // 3 + 10 = 13 > 12
  wire = BuildPdu(ScsiCommandHeader{}, ahs, {}, true, true);
  r = TryFrame(wire, from_initiator);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("AHS at offset 0"));

  // Two AHSs, the second truncated.
  std::vector<uint8_t> two = {0x00, 0x01, 0x02, 0x00, 0x00, 0x05, 0x01, 0x00};
  wire = BuildPdu(ScsiCommandHeader{}, two, {}, true, true);
  r = TryFrame(wire, from_initiator);
  EXPECT_THAT(r.status().message(), HasSubstr("AHS at offset 4"));
}

TEST(PduFramer, MaximalAhsAndTruncatedBuffer) {
  // TotalAHSLength 255 words: one AHS filling all 1020 bytes.
  std::vector<uint8_t> ahs(1020, 0);
  ahs[0] = 0x03;
  ahs[1] = 0xf9;  // 1017 + 3 = 1020
  ahs[2] = 0x01;
  auto wire = BuildPdu(AsyncMessageHeader{}, ahs, Iota(3), true, true);
  ASSERT_EQ(wire.size(), 48u + 1020u + 4u + 4u + 4u);
  size_t needed = 0;
  auto r = TryFrame(std::span(wire).first(600), Limits(true, true), &needed);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(needed, wire.size());
  r = TryFrame(wire, Limits(true, true));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->ahs.size(), 1020u);
}

TEST(PduFramer, GarbageNeverOverreads) {
  std::mt19937 rng(12345);
  int errors = 0, framed = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<uint8_t> buf(rng() % 160);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (!buf.empty() && iter % 2 == 0) buf[0] = 0x20;  // make some look like NOP-In
    if (buf.size() > 7 && iter % 4 == 0) buf[4] = buf[5] = buf[6] = 0;
    const FramingLimits limits = Limits(iter % 3 == 0, iter % 5 == 0);
    auto r = TryFrame(buf, limits);
    if (!r.ok()) {
      ++errors;
      continue;
    }
    if (!r->has_value()) continue;
    ++framed;
    const PduView& v = **r;
    ASSERT_LE(v.wire_length, buf.size());
    ASSERT_GE(v.data.data(), buf.data());
    ASSERT_LE(v.data.data() + v.data.size(), buf.data() + v.wire_length);
    ASSERT_LE(v.ahs.data() + v.ahs.size(), buf.data() + v.wire_length);
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(framed, 0);
}

}  // namespace
}  // namespace isergw::iscsi
