// Tearing down: a session destroyed while logged in (no Logout), then its
// event loop, must leave nothing behind, although the TCP transport's
// receive is still in flight when the loop goes (the loop frees such
// orphaned connection state itself).
#include <malloc.h>

#include <memory>

#include "gtest/gtest.h"
#include "iser_client/client/initiator.h"
#include "iser_client/client/lun_probe.h"
#include "tests/integration/it_support.h"

namespace isergw::testing {
namespace {

size_t HeapInUse() {
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

void LoginProbeAndDrop(const TargetWithLun& target) {
  auto loop = NewLoop();
  auto initiator = iscsi::Initiator::Login(loop.get(), OptionsFor(*target.tgtd, target.iqn));
  ASSERT_TRUE(initiator.ok()) << initiator.status();
  auto info = iscsi::ProbeLun(**initiator, 1);
  ASSERT_TRUE(info.ok()) << info.status();
  // The initiator goes first, then the loop, with no pass in between:
  // what a tool does when it returns from main().
}

TEST(TeardownTest, SessionDestroyedWithoutLogoutFreesItsTransport) {
  auto target = StartTargetWithLun(1 << 20);
  ASSERT_TRUE(target.ok()) << target.status();
  ASSERT_NO_FATAL_FAILURE(LoginProbeAndDrop(*target));  // warm-up: lazy allocations
  const size_t before = HeapInUse();
  for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(LoginProbeAndDrop(*target));
  const size_t after = HeapInUse();
  // Under ASan mallinfo2 says nothing; LeakSanitizer reports at exit instead.
  EXPECT_LT(after, before + (1u << 20))
      << "10 sessions dropped without logout left " << (after - before) << " bytes on the heap";
}

}  // namespace
}  // namespace isergw::testing
