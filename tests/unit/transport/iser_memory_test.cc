#include "iser_client/transport/iser_memory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

namespace isergw::iscsi {
namespace {

TEST(PageRangeTest, CoversEveryTouchedPage) {
  AddressRange r = PageRange(0x10000, 4096, 4096);
  EXPECT_EQ(r.begin, 0x10000u);
  EXPECT_EQ(r.end, 0x11000u);
  r = PageRange(0x10ffe, 4, 4096);  // straddles a page boundary
  EXPECT_EQ(r.begin, 0x10000u);
  EXPECT_EQ(r.end, 0x12000u);
  r = PageRange(0x10800, 0, 4096);
  EXPECT_EQ(r.end - r.begin, 4096u);
}

TEST(AddressRangeTest, ContainsIsHalfOpen) {
  AddressRange r{0x1000, 0x3000};
  EXPECT_TRUE(r.Contains(0x1000, 0x2000));
  EXPECT_FALSE(r.Contains(0x1000, 0x2001));
  EXPECT_FALSE(r.Contains(0xfff, 1));
  EXPECT_TRUE(r.Contains(0x2fff, 1));
  EXPECT_FALSE(r.Contains(0x3000, 1));
}

TEST(FindMappingTest, ParsesProcMapsLines) {
  const char* maps =
      "55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          [heap]\n"
      "7f1234000000-7f1234400000 rw-p 00000000 00:00 0 \n"
      "garbage line\n"
      "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]";
  auto m = FindMappingIn(maps, 0x7f1234123456);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->begin, 0x7f1234000000u);
  EXPECT_EQ(m->end, 0x7f1234400000u);
  m = FindMappingIn(maps, 0x7ffd00020fff);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->begin, 0x7ffd00000000u);
  EXPECT_FALSE(FindMappingIn(maps, 0x7f1234400000).ok());  // end is exclusive
  EXPECT_FALSE(FindMappingIn("", 0x1000).ok());
}

TEST(FindMappingTest, FindsOwnHeapBuffer) {
  std::vector<uint8_t> buffer(1 << 20);
  auto m = FindMapping(reinterpret_cast<uintptr_t>(buffer.data()));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(m->Contains(reinterpret_cast<uintptr_t>(buffer.data()), buffer.size()));
}

TEST(IoBufferArenaTest, AlignedBumpAllocationInOneMapping) {
  auto arena = IoBufferArena::Create(1 << 20);
  ASSERT_TRUE(arena.ok()) << arena.status();
  uint8_t* a = arena->Allocate(100);
  uint8_t* b = arena->Allocate(4096);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 4096, 0u);
  EXPECT_EQ(b - a, 4096);
  a[99] = 1;
  b[4095] = 2;
  EXPECT_EQ(arena->Allocate((1 << 20) - 8192 + 1), nullptr);  // does not fit
  EXPECT_NE(arena->Allocate((1 << 20) - 8192), nullptr);
  EXPECT_EQ(arena->Allocate(1, 1), nullptr);
  // The arena is a mapping of its own: one registration covers it whole.
  auto m = FindMapping(reinterpret_cast<uintptr_t>(a));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Contains(reinterpret_cast<uintptr_t>(a), 1 << 20));
}

}  // namespace
}  // namespace isergw::iscsi
