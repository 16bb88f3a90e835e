#include "iser_client/pdu/serial.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace isergw::iscsi {
namespace {

TEST(Serial, OrderingWithoutWrap) {
  EXPECT_TRUE(SerialLt(1, 2));
  EXPECT_FALSE(SerialLt(2, 1));
  EXPECT_FALSE(SerialLt(5, 5));
  EXPECT_TRUE(SerialLe(5, 5));
  EXPECT_TRUE(SerialGe(5, 5));
  EXPECT_TRUE(SerialGt(9, 3));
  EXPECT_FALSE(SerialGt(3, 9));
}

TEST(Serial, OrderingAcrossWrap) {
  EXPECT_TRUE(SerialLt(0xffffffff, 0));
  EXPECT_TRUE(SerialLt(0xfffffff0, 0x10));
  EXPECT_TRUE(SerialGt(0, 0xffffffff));
  EXPECT_FALSE(SerialLt(0, 0xffffffff));
  EXPECT_TRUE(SerialLe(0xffffffff, 2));
  EXPECT_TRUE(SerialGe(2, 0xffffffff));
  EXPECT_FALSE(SerialGe(0xffffffff, 2));
  // Largest forward distance still ordered: 2^31 - 1.
  EXPECT_TRUE(SerialLt(0x80000000, 0xffffffff));
  EXPECT_TRUE(SerialLt(0xffffffff, 0x7ffffffe));
  EXPECT_FALSE(SerialLt(0x7ffffffe, 0xffffffff));
}

TEST(Serial, HalfRangeApartIsIncomparable) {
  for (uint32_t a : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu}) {
    const uint32_t b = a + 0x80000000u;
    EXPECT_FALSE(SerialLt(a, b)) << a;
    EXPECT_FALSE(SerialLt(b, a)) << a;
    EXPECT_FALSE(SerialGt(a, b)) << a;
    EXPECT_FALSE(SerialLe(a, b)) << a;
    EXPECT_FALSE(SerialGe(a, b)) << a;
  }
}

TEST(Serial, Window) {
  EXPECT_TRUE(SerialInWindow(5, 5, 10));
  EXPECT_TRUE(SerialInWindow(10, 5, 10));
  EXPECT_FALSE(SerialInWindow(11, 5, 10));
  EXPECT_FALSE(SerialInWindow(4, 5, 10));
  // Window straddling the wrap.
  EXPECT_TRUE(SerialInWindow(0xfffffffe, 0xfffffffd, 3));
  EXPECT_TRUE(SerialInWindow(0, 0xfffffffd, 3));
  EXPECT_TRUE(SerialInWindow(3, 0xfffffffd, 3));
  EXPECT_FALSE(SerialInWindow(4, 0xfffffffd, 3));
  EXPECT_FALSE(SerialInWindow(0xfffffffc, 0xfffffffd, 3));
}

TEST(Serial, CmdSnWindow) {
  // Open window of 32 commands.
  EXPECT_FALSE(CmdSnWindowClosed(100, 131));
  EXPECT_TRUE(CmdSnWindowValid(100, 131));
  EXPECT_EQ(CmdSnWindowSize(100, 131), 32u);
  EXPECT_TRUE(CmdSnInWindow(100, 100, 131));
  EXPECT_TRUE(CmdSnInWindow(131, 100, 131));
  EXPECT_FALSE(CmdSnInWindow(132, 100, 131));
  EXPECT_FALSE(CmdSnInWindow(99, 100, 131));

  // MaxCmdSN == ExpCmdSN - 1: closed, still a valid update.
  EXPECT_TRUE(CmdSnWindowClosed(100, 99));
  EXPECT_TRUE(CmdSnWindowValid(100, 99));
  EXPECT_EQ(CmdSnWindowSize(100, 99), 0u);
  EXPECT_FALSE(CmdSnInWindow(100, 100, 99));
  EXPECT_FALSE(CmdSnInWindow(99, 100, 99));

  // Closed across the wrap: ExpCmdSN 0, MaxCmdSN 0xffffffff.
  EXPECT_TRUE(CmdSnWindowClosed(0, 0xffffffff));
  EXPECT_FALSE(CmdSnInWindow(0, 0, 0xffffffff));
  EXPECT_FALSE(CmdSnInWindow(0xffffffff, 0, 0xffffffff));

  // MaxCmdSN < ExpCmdSN - 1: invalid, nothing may be sent.
  EXPECT_FALSE(CmdSnWindowValid(100, 98));
  EXPECT_EQ(CmdSnWindowSize(100, 98), 0u);
  EXPECT_FALSE(CmdSnInWindow(100, 100, 98));

  // Open window straddling the wrap.
  EXPECT_TRUE(CmdSnWindowValid(0xfffffff0, 0x0f));
  EXPECT_EQ(CmdSnWindowSize(0xfffffff0, 0x0f), 32u);
  EXPECT_TRUE(CmdSnInWindow(0xffffffff, 0xfffffff0, 0x0f));
  EXPECT_TRUE(CmdSnInWindow(0, 0xfffffff0, 0x0f));
  EXPECT_TRUE(CmdSnInWindow(0x0f, 0xfffffff0, 0x0f));
  EXPECT_FALSE(CmdSnInWindow(0x10, 0xfffffff0, 0x0f));
}

// The predicates are constexpr: usable in static checks.
static_assert(SerialLt(0xffffffff, 0));
static_assert(CmdSnWindowClosed(0, 0xffffffff));

}  // namespace
}  // namespace isergw::iscsi
