#include "ublk/file_backend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "iser_client/uring/event_loop.h"
#include "tests/unit/ublk/fake_sink.h"

namespace isergw::ublk {
namespace {

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/ublk_file_backend_XXXXXX";
    int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    path_ = name;
    ASSERT_EQ(ftruncate(fd, kSize), 0);
    close(fd);
    auto loop = uring::EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
    // Page-aligned buffers, as the queue hands out (O_DIRECT needs them).
    void* mem = mmap(nullptr, kBuf * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    buf_ = static_cast<uint8_t*>(mem);
  }
  void TearDown() override {
    queue_.reset();
    backend_.reset();
    if (buf_ != nullptr) munmap(buf_, kBuf * 2);
    unlink(path_.c_str());
  }

  void OpenQueue() {
    auto backend = FileBackend::Open(path_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = std::move(*backend);
    QueueContext context;
    context.depth = 8;
    context.buffer_bytes = kBuf;
    context.loop = loop_.get();
    context.sink = &sink_;
    auto queue = backend_->OpenQueue(context);
    ASSERT_TRUE(queue.ok());
    queue_ = std::move(*queue);
  }

  // Submits `io` as tag 1 and runs the loop until it completes.
  int32_t Run(IoOp op, uint64_t offset, uint32_t length, void* buffer, bool flag = false) {
    IoRequest io;
    io.op = op;
    io.tag = 1;
    io.offset = offset;
    io.length = length;
    io.buffer = buffer;
    io.fua = op == IoOp::kWrite && flag;
    io.no_unmap = op == IoOp::kWriteZeroes && flag;
    const int before = sink_.completions;
    queue_->Submit(io);
    absl::Status ran = loop_->RunUntil([&] { return sink_.completions > before; },
                                       absl::Now() + absl::Seconds(10));
    EXPECT_TRUE(ran.ok()) << ran;
    return sink_.results[1];
  }

  std::vector<uint8_t> ReadFile(uint64_t offset, size_t length) {
    std::vector<uint8_t> out(length);
    int fd = open(path_.c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, out.data(), length, static_cast<off_t>(offset)),
              static_cast<ssize_t>(length));
    close(fd);
    return out;
  }

  static constexpr uint64_t kSize = 8 << 20;
  static constexpr uint32_t kBuf = 256 * 1024;
  std::string path_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<FileBackend> backend_;
  std::unique_ptr<QueueBackend> queue_;
  FakeSink sink_;
  uint8_t* buf_ = nullptr;
};

TEST_F(FileBackendTest, GeometryOfARegularFile) {
  OpenQueue();
  const Geometry& g = backend_->geometry();
  EXPECT_EQ(g.capacity_bytes, kSize);
  EXPECT_EQ(g.logical_block_size, 512u);
  EXPECT_TRUE(g.volatile_cache);
  EXPECT_TRUE(g.fua);
  EXPECT_NE(g.discard_granularity, 0u);
  EXPECT_FALSE(backend_->is_block_device());
}

TEST_F(FileBackendTest, WriteThenReadThroughTheRing) {
  OpenQueue();
  for (uint32_t i = 0; i < kBuf; ++i) buf_[i] = static_cast<uint8_t>(i * 13 + 5);
  EXPECT_EQ(Run(IoOp::kWrite, 1 << 20, kBuf, buf_), static_cast<int32_t>(kBuf));
  std::vector<uint8_t> on_disk = ReadFile(1 << 20, kBuf);
  EXPECT_EQ(0, memcmp(on_disk.data(), buf_, kBuf));
  EXPECT_EQ(Run(IoOp::kRead, 1 << 20, kBuf, buf_ + kBuf), static_cast<int32_t>(kBuf));
  EXPECT_EQ(0, memcmp(buf_, buf_ + kBuf, kBuf));
  // FUA write and flush succeed with result 0 / bytes.
  EXPECT_EQ(Run(IoOp::kWrite, 0, 4096, buf_, /*fua=*/true), 4096);
  EXPECT_EQ(Run(IoOp::kFlush, 0, 0, nullptr), 0);
  EXPECT_TRUE(backend_->Flush().ok());
}

TEST_F(FileBackendTest, DiscardAndWriteZeroesReadBackZero) {
  OpenQueue();
  memset(buf_, 0xab, kBuf);
  ASSERT_EQ(Run(IoOp::kWrite, 0, kBuf, buf_), static_cast<int32_t>(kBuf));
  ASSERT_EQ(Run(IoOp::kDiscard, 64 * 1024, 64 * 1024, nullptr), 0);
  ASSERT_EQ(Run(IoOp::kWriteZeroes, 160 * 1024, 8192, nullptr, /*no_unmap=*/true), 0);
  ASSERT_EQ(Run(IoOp::kWriteZeroes, 200 * 1024, 4096, nullptr, /*no_unmap=*/false), 0);
  std::vector<uint8_t> on_disk = ReadFile(0, kBuf);
  for (uint32_t i = 0; i < kBuf; ++i) {
    const bool zero = (i >= 64 * 1024 && i < 128 * 1024) || (i >= 160 * 1024 && i < 168 * 1024) ||
                      (i >= 200 * 1024 && i < 204 * 1024);
    ASSERT_EQ(on_disk[i], zero ? 0 : 0xab) << i;
  }
}

TEST_F(FileBackendTest, ErrorsComeBackAsErrno) {
  OpenQueue();
  // A read past the end of the file meets end-of-file: an I/O error.
  EXPECT_EQ(Run(IoOp::kRead, kSize, 4096, buf_), -EIO);
}

TEST_F(FileBackendTest, OpenErrors) {
  auto missing = FileBackend::Open("/tmp/ublk-no-such-file-here");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(truncate(path_.c_str(), 0), 0);
  auto empty = FileBackend::Open(path_);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("size is zero"), absl::string_view::npos)
      << empty.status();
  ASSERT_EQ(truncate(path_.c_str(), kSize), 0);
  FileBackendOptions odd;
  odd.logical_block_size = 1000;
  auto bad = FileBackend::Open(path_, odd);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto dir = FileBackend::Open("/tmp");
  EXPECT_FALSE(dir.ok());
}

}  // namespace
}  // namespace isergw::ublk
