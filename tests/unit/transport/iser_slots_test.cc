#include "iser_client/transport/iser_slots.h"

#include <gtest/gtest.h>

namespace isergw::iscsi {
namespace {

TEST(SlotLayoutTest, SlotsHoldHeaderBhsAhsAndData) {
  SlotLayout layout;
  EXPECT_GE(layout.slot_bytes, kIserHeaderSize + kBhsSize + kMaxAhsBytes + SlotLayout::kDataBytes);
  EXPECT_EQ(layout.slot_bytes % 64, 0u);
  EXPECT_GE(layout.recv_pdu_capacity(), kBhsSize + kMaxAhsBytes + SlotLayout::kDataBytes);
}

TEST(SlotLayoutTest, WindowPlusExtras) {
  SlotLayout layout;
  EXPECT_EQ(layout.recv_slots, SlotLayout::kMaxCommands + SlotLayout::kExtraRecvs);
  EXPECT_GT(layout.send_slots, SlotLayout::kMaxCommands);
}

TEST(SlotLayoutTest, SlotsDoNotOverlapAndFitThePool) {
  SlotLayout layout;
  EXPECT_EQ(layout.send_offset(0), 0u);
  EXPECT_EQ(layout.send_offset(1), layout.slot_bytes);
  EXPECT_EQ(layout.recv_offset(0), layout.send_offset(layout.send_slots - 1) + layout.slot_bytes);
  EXPECT_EQ(layout.recv_offset(layout.recv_slots - 1) + layout.slot_bytes, layout.total_bytes());
}

TEST(WrIdTest, KindAndSlotRoundTrip) {
  uint64_t id = MakeWrId(WorkKind::kRecv, 271);
  EXPECT_EQ(WrIdKind(id), WorkKind::kRecv);
  EXPECT_EQ(WrIdSlot(id), 271u);
  id = MakeWrId(WorkKind::kSend, 0xffffffffu);
  EXPECT_EQ(WrIdKind(id), WorkKind::kSend);
  EXPECT_EQ(WrIdSlot(id), 0xffffffffu);
  EXPECT_NE(MakeWrId(WorkKind::kSend, 3), MakeWrId(WorkKind::kRecv, 3));
}

}  // namespace
}  // namespace isergw::iscsi
