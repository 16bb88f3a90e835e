#include "ublk/tag_buffers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace isergw::ublk {
namespace {

TEST(TagBuffersTest, PageAlignedDisjointSlots) {
  auto buffers = TagBuffers::Allocate(8, 5000);
  ASSERT_TRUE(buffers.ok()) << buffers.status();
  EXPECT_EQ(buffers->stride(), 8192u);  // rounded up to pages
  for (uint32_t tag = 0; tag < 8; ++tag) {
    auto address = reinterpret_cast<uintptr_t>(buffers->buffer(tag));
    EXPECT_EQ(address % 4096, 0u) << tag;
    std::memset(buffers->buffer(tag), static_cast<int>(tag + 1), 5000);
  }
  for (uint32_t tag = 0; tag < 8; ++tag) {
    EXPECT_EQ(static_cast<uint8_t*>(buffers->buffer(tag))[4999], tag + 1) << tag;
  }
}

TEST(TagBuffersTest, MoveKeepsTheMapping) {
  auto buffers = TagBuffers::Allocate(2, 4096);
  ASSERT_TRUE(buffers.ok());
  void* first = buffers->buffer(0);
  TagBuffers moved = std::move(*buffers);
  EXPECT_EQ(moved.buffer(0), first);
  EXPECT_EQ(moved.tags(), 2u);
  EXPECT_EQ(buffers->tags(), 0u);
}

TEST(TagBuffersTest, RefusesEmpty) {
  EXPECT_FALSE(TagBuffers::Allocate(0, 4096).ok());
  EXPECT_FALSE(TagBuffers::Allocate(4, 0).ok());
}

}  // namespace
}  // namespace isergw::ublk
