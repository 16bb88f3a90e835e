#include "iser_client/transport/iser_windows.h"

#include <gtest/gtest.h>

#include <set>

namespace isergw::iscsi {
namespace {

// rkeys as a device hands them out: window index above, an 8-bit key below.
std::vector<uint32_t> Rkeys(uint32_t n) {
  std::vector<uint32_t> rkeys;
  for (uint32_t i = 0; i < n; ++i) rkeys.push_back(((0x100 + i) << 8) | 0x07);
  return rkeys;
}

TEST(NextWindowRkeyTest, BumpsTheKeyByteOnly) {
  EXPECT_EQ(NextWindowRkey(0x00012307), 0x00012308u);
  EXPECT_EQ(NextWindowRkey(0x000123ff), 0x00012300u);  // wraps inside the byte
  EXPECT_EQ(NextWindowRkey(0xffffffff), 0xffffff00u);
}

TEST(WindowTableTest, EveryCommandGetsANewRkey) {
  WindowTable table(Rkeys(2));
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < 600; ++i) {
    const uint32_t itt = (i << 16) | 5;  // one task slot, new generation each time
    auto b = table.Acquire(itt);
    ASSERT_TRUE(b.has_value()) << i;
    EXPECT_EQ(table.Find(itt), b->window);
    EXPECT_EQ(table.rkey(b->window), b->rkey);
    // No rkey comes back before 256 binds of every window went by.
    EXPECT_TRUE(seen.insert(b->rkey).second || i >= 512) << std::hex << b->rkey;
    ASSERT_TRUE(table.RemoteInvalidated(itt, b->rkey));
    EXPECT_EQ(table.state(b->window), WindowTable::State::kFree);
  }
}

TEST(WindowTableTest, FreedWindowsRotate) {
  WindowTable table(Rkeys(4));
  std::vector<uint32_t> order;
  for (uint32_t i = 0; i < 8; ++i) {
    auto b = table.Acquire(i);
    ASSERT_TRUE(b.has_value());
    order.push_back(b->window);
    ASSERT_TRUE(table.RemoteInvalidated(i, b->rkey));
  }
  // One command at a time still walks every window in turn.
  EXPECT_EQ(order, (std::vector<uint32_t>{0, 1, 2, 3, 0, 1, 2, 3}));
}

TEST(WindowTableTest, ConsecutiveBindsOfOneWindowDiffer) {
  WindowTable table(Rkeys(1));
  uint32_t last = table.rkey(0);
  for (uint32_t i = 0; i < 300; ++i) {
    auto b = table.Acquire(i);
    ASSERT_TRUE(b.has_value());
    EXPECT_NE(b->rkey, last);
    EXPECT_EQ(b->previous_rkey, last);   // what the bind must name the window by
    EXPECT_EQ(b->rkey >> 8, last >> 8);  // same window index
    last = b->rkey;
    table.BeginInvalidate(b->window);
    table.Invalidated(b->window);
  }
}

TEST(WindowTableTest, NoWindowIsReusedBeforeItsInvalidationCompletes) {
  WindowTable table(Rkeys(2));
  auto a = table.Acquire(1);
  auto b = table.Acquire(2);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->window, b->window);
  EXPECT_FALSE(table.Acquire(3).has_value());  // both bound

  table.BeginInvalidate(a->window);  // response came, LOCAL_INV posted
  EXPECT_EQ(table.state(a->window), WindowTable::State::kInvalidating);
  EXPECT_EQ(table.Find(1), WindowTable::kNone);
  EXPECT_FALSE(table.Acquire(3).has_value());  // still not free
  table.Invalidated(a->window);
  auto c = table.Acquire(3);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->window, a->window);
  EXPECT_NE(c->rkey, a->rkey);
}

TEST(WindowTableTest, RemoteInvalidationOfAnotherRkeyFreesNothing) {
  WindowTable table(Rkeys(2));
  auto a = table.Acquire(1);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(table.RemoteInvalidated(1, a->rkey + 1));  // an rkey we never advertised
  EXPECT_EQ(table.state(a->window), WindowTable::State::kBound);
  EXPECT_EQ(table.Find(1), a->window);
  EXPECT_FALSE(table.RemoteInvalidated(1, Rkeys(2)[1]));  // a free window's key
  EXPECT_EQ(table.free_count(), 1u);
}

TEST(WindowTableTest, RemoteInvalidationFoundByRkeyForAnotherCommand) {
  WindowTable table(Rkeys(3));
  auto a = table.Acquire(0x10001);
  auto b = table.Acquire(0x10002);
  ASSERT_TRUE(a && b);
  // The response to b invalidates a's rkey (a target may do that for a
  // command whose response we have not seen): a is free, b still bound.
  EXPECT_TRUE(table.RemoteInvalidated(0x10002, a->rkey));
  EXPECT_EQ(table.state(a->window), WindowTable::State::kFree);
  EXPECT_EQ(table.Find(0x10002), b->window);
  EXPECT_EQ(table.Find(0x10001), WindowTable::kNone);
}

TEST(WindowTableTest, StaleWindowOfAReusedTaskSlot) {
  WindowTable table(Rkeys(4));
  auto old = table.Acquire(0x00010003);  // task slot 3, generation 1: aborted, no response
  ASSERT_TRUE(old.has_value());
  const uint32_t next = 0x00020003;  // slot 3 again, generation 2
  EXPECT_EQ(table.Stale(next), old->window);
  EXPECT_EQ(table.Stale(0x00010003), WindowTable::kNone);  // not stale for itself
  EXPECT_FALSE(table.Acquire(next).has_value());           // the slot still maps to the old window
  table.BeginInvalidate(old->window);
  EXPECT_EQ(table.Stale(next), WindowTable::kNone);
  auto fresh = table.Acquire(next);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_NE(fresh->window, old->window);
  EXPECT_EQ(table.Find(0x00010003), WindowTable::kNone);
}

TEST(WindowTableTest, HeldResponseIsReturnedOnce) {
  WindowTable table(Rkeys(1));
  auto a = table.Acquire(9);
  ASSERT_TRUE(a.has_value());
  table.BeginInvalidate(a->window);
  table.Hold(a->window, 17, 76);
  table.Invalidated(a->window);
  WindowTable::Held held = table.TakeHeld(a->window);
  EXPECT_EQ(held.recv_slot, 17u);
  EXPECT_EQ(held.bytes, 76u);
  EXPECT_EQ(table.TakeHeld(a->window).recv_slot, WindowTable::kNone);
}

TEST(WindowTableTest, InvalidatedWithoutBeginChangesNothing) {
  WindowTable table(Rkeys(1));
  auto a = table.Acquire(9);
  ASSERT_TRUE(a.has_value());
  table.Invalidated(a->window);  // a stray completion
  EXPECT_EQ(table.state(a->window), WindowTable::State::kBound);
  EXPECT_EQ(table.free_count(), 0u);
}

}  // namespace
}  // namespace isergw::iscsi
