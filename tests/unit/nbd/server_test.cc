// The server end to end over a Unix socket, with a raw client that can do
// what well-behaved clients never do.
#include "nbd/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nbd/codec.h"
#include "nbd/protocol.h"
#include "ublk/file_backend.h"
#include "ublk/ram_backend.h"

namespace isergw::nbd {
namespace {

constexpr uint64_t kSize = 1 << 20;

class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }

  void Send(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t sent = send(fd_, p, n, MSG_NOSIGNAL);
      if (sent <= 0) {
        return;
      }
      p += sent;
      n -= static_cast<size_t>(sent);
    }
  }
  void Send(const std::string& s) { Send(s.data(), s.size()); }
  // False on EOF (or timeout) before `n` bytes.
  bool Recv(void* data, size_t n) {
    char* p = static_cast<char*>(data);
    while (n > 0) {
      ssize_t got = recv(fd_, p, n, 0);
      if (got <= 0) {
        return false;
      }
      p += got;
      n -= static_cast<size_t>(got);
    }
    return true;
  }
  // True if the server closed the connection (EOF) with nothing more sent.
  bool SeesEof() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

  // The greeting read and the client flags sent: options may follow.
  bool Greet() {
    uint8_t greeting[18];
    if (!Recv(greeting, sizeof(greeting))) {
      return false;
    }
    if (GetBe64(greeting) != kNbdMagic) {
      return false;
    }
    uint8_t flags[4];
    PutBe32(flags, kClientFlagFixedNewstyle | kClientFlagNoZeroes);
    Send(flags, 4);
    return true;
  }
  // INFO or GO for `name` without requests: the payload.
  static std::string InfoPayload(const std::string& name) {
    std::string go(4, '\0');
    PutBe32(reinterpret_cast<uint8_t*>(go.data()), static_cast<uint32_t>(name.size()));
    go += name;
    go += std::string(2, '\0');
    return go;
  }

  // Fixed newstyle, optional structured replies, then GO for `name`.
  bool Handshake(bool structured, const std::string& name = "vol") {
    if (!Greet()) {
      return false;
    }
    if (structured) {
      SendOption(kOptStructuredReply, "");
      if (ReadOptionReplies() != kRepAck) {
        return false;
      }
    }
    SendOption(kOptGo, InfoPayload(name));
    return ReadOptionReplies() == kRepAck;
  }
  void SendOption(uint32_t option, const std::string& data) {
    uint8_t h[16];
    PutBe64(h, kIHaveOpt);
    PutBe32(h + 8, option);
    PutBe32(h + 12, static_cast<uint32_t>(data.size()));
    Send(h, 16);
    Send(data);
  }
  // Reads replies up to the final one; returns its type (0 on EOF).
  uint32_t ReadOptionReplies() {
    for (;;) {
      uint8_t h[20];
      if (!Recv(h, 20)) {
        return 0;
      }
      std::string data(GetBe32(h + 16), '\0');
      if (!Recv(data.data(), data.size())) {
        return 0;
      }
      const uint32_t type = GetBe32(h + 12);
      if (type == kRepServer) {
        ++servers_listed_;
        continue;
      }
      if (type == kRepInfo) {
        const auto* d = reinterpret_cast<const uint8_t*>(data.data());
        if (GetBe16(d) == kInfoExport) {
          size_ = GetBe64(d + 2);
        }
        continue;
      }
      return type;
    }
  }

  void Request(uint16_t type, uint64_t offset, uint32_t length, uint64_t cookie, uint16_t flags = 0,
               const void* payload = nullptr) {
    RequestHeader h;
    h.type = type;
    h.flags = flags;
    h.cookie = cookie;
    h.offset = offset;
    h.length = length;
    uint8_t wire[kRequestHeaderBytes];
    EncodeRequestHeader(h, wire);
    Send(wire, sizeof(wire));
    if (payload) {
      Send(payload, length);
    }
  }
  // A simple reply; fills `data` for a successful read. Returns the error,
  // or -1 on EOF / wrong magic.
  int64_t SimpleReply(uint64_t* cookie, void* data = nullptr, size_t length = 0) {
    uint8_t r[kSimpleReplyBytes];
    if (!Recv(r, sizeof(r)) || GetBe32(r) != kSimpleReplyMagic) {
      return -1;
    }
    *cookie = GetBe64(r + 8);
    const uint32_t error = GetBe32(r + 4);
    if (error == 0 && data && !Recv(data, length)) {
      return -1;
    }
    return error;
  }
  // One structured chunk (all of this server's replies are single chunks).
  int64_t StructuredReply(uint64_t* cookie, std::string* payload) {
    uint8_t r[kStructuredHeaderBytes];
    if (!Recv(r, sizeof(r)) || GetBe32(r) != kStructuredReplyMagic) {
      return -1;
    }
    if ((GetBe16(r + 4) & kReplyFlagDone) == 0) {
      return -1;
    }
    *cookie = GetBe64(r + 8);
    payload->assign(GetBe32(r + 16), '\0');
    if (!Recv(payload->data(), payload->size())) {
      return -1;
    }
    if (GetBe16(r + 6) == kReplyTypeError) {
      return GetBe32(reinterpret_cast<const uint8_t*>(payload->data()));
    }
    return 0;
  }

  uint64_t size() const { return size_; }
  int servers_listed() const { return servers_listed_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  uint64_t size_ = 0;
  int servers_listed_ = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ram = ublk::RamBackend::Create(kSize, 512);
    ASSERT_TRUE(ram.ok());
    ram_ = std::move(*ram);
    path_ = absl::StrCat(::testing::TempDir(), "/nbd-test-", getpid(), "-",
                         ::testing::UnitTest::GetInstance()->random_seed(), ".sock");
  }
  void StartServer(uint16_t depth = 16) {
    ServerOptions options;
    options.unix_path = path_;
    options.export_name = "vol";
    options.depth = depth;
    options.handshake_timeout = absl::Milliseconds(300);
    auto server = Server::Listen(served_backend_ ? served_backend_ : ram_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    thread_ = std::thread([this] { served_ = server_->Serve(stop_fd_); });
  }
  void TearDown() override {
    if (server_) {
      uint64_t one = 1;
      ASSERT_EQ(write(stop_fd_, &one, sizeof(one)), 8);
      thread_.join();
      EXPECT_TRUE(served_.ok());
      close(stop_fd_);
    }
  }
  bool RamIsZero(uint64_t offset, uint64_t length) {
    for (uint64_t i = 0; i < length; ++i) {
      if (ram_->data()[offset + i] != 0) {
        return false;
      }
    }
    return true;
  }
  // A client is still served properly (the server carries on).
  void ExpectServerServes() {
    RawClient c(path_);
    ASSERT_TRUE(c.Handshake(false));
    std::vector<uint8_t> data(512, 0x5a), back(512);
    c.Request(kCmdWrite, kSize - 512, 512, 1, 0, data.data());
    uint64_t cookie = 0;
    ASSERT_EQ(c.SimpleReply(&cookie), 0);
    c.Request(kCmdRead, kSize - 512, 512, 2);
    ASSERT_EQ(c.SimpleReply(&cookie, back.data(), back.size()), 0);
    EXPECT_EQ(cookie, 2u);
    EXPECT_EQ(back, data);
  }

  std::unique_ptr<ublk::RamBackend> ram_;
  ublk::Backend* served_backend_ = nullptr;  // nullptr: ram_
  // A test's own backend: the fixture holds it so that it outlives the
  // server's connection threads, which TearDown joins.
  std::unique_ptr<ublk::Backend> test_backend_;
  std::string path_;
  std::unique_ptr<Server> server_;
  int stop_fd_ = -1;
  std::thread thread_;
  absl::Status served_;
};

TEST_F(ServerTest, SocketIsRootOnlyAndUriNamesIt) {
  StartServer();
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(server_->uri(), absl::StrCat("nbd+unix:///vol?socket=", path_));
}

TEST_F(ServerTest, SimpleRepliesDataRoundTrip) {
  StartServer();
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(false));
  EXPECT_EQ(c.size(), kSize);
  std::vector<uint8_t> data(8192);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  c.Request(kCmdWrite, 4096, 8192, 11, kCmdFlagFua, data.data());
  uint64_t cookie = 0;
  ASSERT_EQ(c.SimpleReply(&cookie), 0);
  EXPECT_EQ(cookie, 11u);
  EXPECT_EQ(std::memcmp(ram_->data() + 4096, data.data(), data.size()), 0);
  std::vector<uint8_t> back(8192);
  c.Request(kCmdRead, 4096, 8192, 12);
  ASSERT_EQ(c.SimpleReply(&cookie, back.data(), back.size()), 0);
  EXPECT_EQ(back, data);
  c.Request(kCmdFlush, 0, 0, 13);
  ASSERT_EQ(c.SimpleReply(&cookie), 0);
  EXPECT_EQ(cookie, 13u);
  c.Request(kCmdDisc, 0, 0, 14);
  EXPECT_TRUE(c.SeesEof());
}

TEST_F(ServerTest, StructuredRepliesTrimZeroesAndErrors) {
  StartServer();
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(true));
  std::vector<uint8_t> data(4096, 0xee);
  c.Request(kCmdWrite, 0, 4096, 1, 0, data.data());
  uint64_t cookie = 0;
  std::string payload;
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  c.Request(kCmdRead, 0, 4096, 2, kCmdFlagDf);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  ASSERT_EQ(payload.size(), 8u + 4096u);  // offset, then data
  EXPECT_EQ(GetBe64(reinterpret_cast<const uint8_t*>(payload.data())), 0u);
  EXPECT_EQ(payload.substr(8), std::string(4096, '\xee'));
  c.Request(kCmdWriteZeroes, 1024, 2048, 3, kCmdFlagNoHole | kCmdFlagFua);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  EXPECT_TRUE(RamIsZero(1024, 2048));
  EXPECT_EQ(ram_->data()[1023], 0xee);
  EXPECT_EQ(ram_->data()[3072], 0xee);
  c.Request(kCmdTrim, 0, 4096, 4);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  c.Request(kCmdCache, 0, 4096, 5);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  EXPECT_EQ(cookie, 5u);
  // Errors come as error chunks and the connection goes on.
  c.Request(kCmdRead, kSize, 512, 6);
  EXPECT_EQ(c.StructuredReply(&cookie, &payload), kEinval);
  c.Request(42, 0, 512, 7);
  EXPECT_EQ(c.StructuredReply(&cookie, &payload), kEinval);
  EXPECT_EQ(cookie, 7u);
  c.Request(kCmdRead, 0, 1 << 20, 8);  // above the maximum block size
  EXPECT_EQ(c.StructuredReply(&cookie, &payload), kEoverflow);
  c.Request(kCmdRead, 0, 512, 9);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  EXPECT_EQ(cookie, 9u);
}

TEST_F(ServerTest, RejectedWritesWriteNothing) {
  StartServer();
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(false));
  std::vector<uint8_t> data(1024, 0x77);
  uint64_t cookie = 0;
  c.Request(kCmdWrite, kSize - 512, 1024, 1, 0, data.data());  // past the end
  EXPECT_EQ(c.SimpleReply(&cookie), kEnospc);
  c.Request(kCmdWrite, 100, 512, 2, 0, data.data());  // misaligned
  EXPECT_EQ(c.SimpleReply(&cookie), kEinval);
  c.Request(kCmdWrite, 0, 512, 3, 0x40, data.data());  // unknown flag
  EXPECT_EQ(c.SimpleReply(&cookie), kEinval);
  EXPECT_TRUE(RamIsZero(0, kSize));
  // The payloads were consumed: the stream is still in step.
  c.Request(kCmdFlush, 0, 0, 4);
  EXPECT_EQ(c.SimpleReply(&cookie), 0);
  EXPECT_EQ(cookie, 4u);
}

TEST_F(ServerTest, BadMagicDropsOnlyThatClient) {
  StartServer();
  RawClient good(path_);
  ASSERT_TRUE(good.Handshake(false));
  RawClient bad(path_);
  ASSERT_TRUE(bad.Handshake(false));
  bad.Send(std::string(28, 'x'));
  EXPECT_TRUE(bad.SeesEof());
  uint64_t cookie = 0;
  good.Request(kCmdFlush, 0, 0, 9);
  EXPECT_EQ(good.SimpleReply(&cookie), 0);
  ExpectServerServes();
}

TEST_F(ServerTest, OversizedWriteDropsTheClientUnwritten) {
  StartServer();
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(false));
  std::vector<uint8_t> data(1 << 20, 0x66);
  c.Request(kCmdWrite, 0, static_cast<uint32_t>(data.size()), 1, 0, data.data());
  EXPECT_TRUE(c.SeesEof());
  EXPECT_TRUE(RamIsZero(0, kSize));
  ExpectServerServes();
}

TEST_F(ServerTest, ClientVanishingMidWriteWritesNothing) {
  StartServer();
  {
    RawClient c(path_);
    ASSERT_TRUE(c.Handshake(false));
    std::vector<uint8_t> data(65536, 0x99);
    c.Request(kCmdWrite, 0, 131072, 1);
    c.Send(data.data(), data.size());  // half the payload, then gone
  }
  {
    RawClient c(path_);
    ASSERT_TRUE(c.Handshake(false));
    uint8_t half_header[10] = {0x25, 0x60, 0x95, 0x13};
    c.Send(half_header, sizeof(half_header));
  }
  usleep(100 * 1000);
  EXPECT_TRUE(RamIsZero(0, kSize));
  ExpectServerServes();
}

TEST_F(ServerTest, PipelinedRequestsBeyondDepthAllAnswered) {
  StartServer(/*depth=*/4);
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(false));
  constexpr int kRequests = 200;
  std::vector<uint8_t> block(4096);
  std::thread writer([&] {
    for (int i = 0; i < kRequests; ++i) {
      std::memset(block.data(), i, block.size());
      c.Request(kCmdWrite, static_cast<uint64_t>(i % 64) * 4096, 4096, 1000 + i, 0, block.data());
    }
  });
  std::vector<bool> seen(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    uint64_t cookie = 0;
    ASSERT_EQ(c.SimpleReply(&cookie), 0);
    ASSERT_GE(cookie, 1000u);
    ASSERT_LT(cookie, 1000u + kRequests);
    EXPECT_FALSE(seen[cookie - 1000]);
    seen[cookie - 1000] = true;
  }
  writer.join();
  EXPECT_EQ(ram_->data()[size_t{63} * 4096], 191);  // the last of i % 64 == 63
}

TEST_F(ServerTest, HandshakeDeadlineAndGarbageBeforeIt) {
  StartServer();
  RawClient slow(path_);
  uint8_t greeting[18];
  ASSERT_TRUE(slow.Recv(greeting, sizeof(greeting)));
  EXPECT_TRUE(slow.SeesEof());  // nothing sent within 300 ms
  RawClient garbage(path_);
  ASSERT_TRUE(garbage.Recv(greeting, sizeof(greeting)));
  garbage.Send(std::string(64, '\xff'));
  EXPECT_TRUE(garbage.SeesEof());
  RawClient wrong_name(path_);
  EXPECT_FALSE(wrong_name.Handshake(false, "nope"));
  ExpectServerServes();
}

TEST_F(ServerTest, StopEndsConnectedClients) {
  StartServer();
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(false));
  uint64_t one = 1;
  ASSERT_EQ(write(stop_fd_, &one, sizeof(one)), 8);
  thread_.join();
  EXPECT_TRUE(served_.ok());
  EXPECT_TRUE(c.SeesEof());
  struct stat st;
  EXPECT_NE(stat(path_.c_str(), &st), 0);  // the socket file is gone
  server_.reset();
  close(stop_fd_);
}

// A backend that completes later (io_uring file I/O): clients that go away
// with requests in flight leave the connection waiting for them, never
// freeing what the backend still uses.
class FileServerTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    file_path_ = absl::StrCat(path_, ".img");
    const int fd = open(file_path_.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, kSize), 0);
    close(fd);
    auto file = ublk::FileBackend::Open(file_path_);
    ASSERT_TRUE(file.ok()) << file.status();
    file_ = std::move(*file);
    served_backend_ = file_.get();
  }
  void TearDown() override {
    ServerTest::TearDown();
    server_.reset();
    file_.reset();
    unlink(file_path_.c_str());
  }
  std::string file_path_;
  std::unique_ptr<ublk::FileBackend> file_;
};

TEST_F(FileServerTest, ClientGoneWithRequestsInFlight) {
  StartServer(/*depth=*/32);
  std::vector<uint8_t> block(65536, 0x3c);
  for (int round = 0; round < 5; ++round) {
    RawClient c(path_);
    ASSERT_TRUE(c.Handshake(round % 2 == 0));
    for (int i = 0; i < 16; ++i) {
      c.Request(kCmdWrite, uint64_t{65536} * i, 65536, i, 0, block.data());
      c.Request(kCmdRead, uint64_t{65536} * i, 65536, 100 + i);
    }
    c.Request(kCmdFlush, 0, 0, 999);
  }  // closed without reading a reply
  // Requests not yet taken when a client goes away are dropped; those taken
  // were carried out whole. Either way the server still serves.
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(true));
  uint64_t cookie = 0;
  std::string payload;
  for (int i = 0; i < 16; ++i) {
    c.Request(kCmdRead, uint64_t{65536} * i, 65536, 1);
    ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
    const std::string data = payload.substr(8);
    EXPECT_TRUE(data == std::string(65536, '\x3c') || data == std::string(65536, '\0'))
        << "block " << i << " is torn";
  }
  c.Request(kCmdWriteZeroes, 0, 65536, 2, kCmdFlagFua);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  c.Request(kCmdTrim, 65536, 65536, 3);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  c.Request(kCmdRead, 0, 131072, 4);
  ASSERT_EQ(c.StructuredReply(&cookie, &payload), 0);
  EXPECT_TRUE(payload.substr(8) == std::string(131072, '\0'));
  ExpectServerServes();
}

// A store that cannot zero or discard ranges (fallocate on 9p, a LUN
// without WRITE SAME or UNMAP) but still says it can.
class NoZeroingBackend final : public ublk::Backend {
 public:
  explicit NoZeroingBackend(ublk::RamBackend* ram) : ram_(ram), geometry_(ram->geometry()) {
    geometry_.max_write_zeroes_bytes = 1 << 20;
    geometry_.discard_granularity = 4096;
    geometry_.max_discard_bytes = 1 << 20;
  }
  const ublk::Geometry& geometry() const override { return geometry_; }
  absl::StatusOr<std::unique_ptr<ublk::QueueBackend>> OpenQueue(
      const ublk::QueueContext& context) override {
    return std::make_unique<Queue>(ram_, context.sink);
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  std::string Describe() const override { return "no zeroing"; }

 private:
  class Queue final : public ublk::QueueBackend {
   public:
    Queue(ublk::RamBackend* ram, ublk::QueueSink* sink) : ram_(ram), sink_(sink) {}
    void Submit(const ublk::IoRequest& io) override {
      if (io.op == ublk::IoOp::kWriteZeroes || io.op == ublk::IoOp::kDiscard) {
        sink_->CompleteIo(io.tag, -EOPNOTSUPP);
        return;
      }
      sink_->CompleteIo(io.tag, ram_->Execute(io));
    }

   private:
    ublk::RamBackend* ram_;
    ublk::QueueSink* sink_;
  };
  ublk::RamBackend* ram_;
  ublk::Geometry geometry_;
};

TEST_F(ServerTest, ZeroesAreWrittenWhereTheBackendCannotZero) {
  test_backend_ = std::make_unique<NoZeroingBackend>(ram_.get());
  served_backend_ = test_backend_.get();
  StartServer();
  RawClient c(path_);
  ASSERT_TRUE(c.Handshake(false));
  uint64_t cookie = 0;
  std::vector<uint8_t> pattern(size_t{512} * 1024, 0xab);
  for (uint64_t offset = 0; offset < kSize; offset += pattern.size()) {
    c.Request(kCmdWrite, offset, static_cast<uint32_t>(pattern.size()), 9, 0, pattern.data());
    ASSERT_EQ(c.SimpleReply(&cookie), 0);
  }
  c.Request(kCmdWriteZeroes, 4096, 3 << 20 >> 2, 1, kCmdFlagNoHole);  // 768 KiB: two chunks
  EXPECT_EQ(c.SimpleReply(&cookie), 0);
  EXPECT_TRUE(RamIsZero(4096, 3 << 20 >> 2));
  EXPECT_EQ(ram_->data()[4095], 0xab);
  EXPECT_EQ(ram_->data()[4096 + (3 << 20 >> 2)], 0xab);
  c.Request(kCmdTrim, 0, 4096, 2);  // a hint: succeeds, data may stay
  EXPECT_EQ(c.SimpleReply(&cookie), 0);
  EXPECT_EQ(cookie, 2u);
  c.Request(kCmdDisc, 0, 0, 3);
  EXPECT_TRUE(c.SeesEof());
}

// Counts the queues opened (one iSCSI login each with an iSCSI backend) and
// can refuse to open them, as a backend whose target has gone would.
class CountingBackend final : public ublk::Backend {
 public:
  explicit CountingBackend(ublk::Backend* inner) : inner_(inner) {}
  const ublk::Geometry& geometry() const override { return inner_->geometry(); }
  absl::StatusOr<std::unique_ptr<ublk::QueueBackend>> OpenQueue(
      const ublk::QueueContext& context) override {
    ++attempts;
    if (refuse.load()) {
      return absl::UnavailableError("target went away");
    }
    ++opened;
    return inner_->OpenQueue(context);
  }
  absl::Status Flush() override { return inner_->Flush(); }
  std::string Describe() const override { return "counting"; }

  std::atomic<int> attempts{0};
  std::atomic<int> opened{0};
  std::atomic<bool> refuse{false};

 private:
  ublk::Backend* inner_;
};

TEST_F(ServerTest, QueueOpensOnlyForClientsThatChooseTheExport) {
  test_backend_ = std::make_unique<CountingBackend>(ram_.get());
  auto& backend = static_cast<CountingBackend&>(*test_backend_);
  served_backend_ = &backend;
  StartServer();
  {
    RawClient c(path_);  // LIST, INFO, then ABORT
    ASSERT_TRUE(c.Greet());
    c.SendOption(kOptList, "");
    EXPECT_EQ(c.ReadOptionReplies(), kRepAck);
    EXPECT_EQ(c.servers_listed(), 1);
    c.SendOption(kOptInfo, RawClient::InfoPayload("vol"));
    EXPECT_EQ(c.ReadOptionReplies(), kRepAck);
    EXPECT_EQ(c.size(), kSize);
    c.SendOption(kOptAbort, "");
    EXPECT_EQ(c.ReadOptionReplies(), kRepAck);
    EXPECT_TRUE(c.SeesEof());
  }
  {
    RawClient c(path_);  // GO for an export that is not there
    ASSERT_TRUE(c.Greet());
    c.SendOption(kOptGo, RawClient::InfoPayload("nope"));
    EXPECT_EQ(c.ReadOptionReplies(), kRepErrUnknown);
  }
  {
    RawClient c(path_);  // EXPORT_NAME for an export that is not there
    ASSERT_TRUE(c.Greet());
    c.SendOption(kOptExportName, "nope");
    EXPECT_TRUE(c.SeesEof());
  }
  {
    RawClient c(path_);  // bad option magic
    ASSERT_TRUE(c.Greet());
    c.Send(std::string(16, 'x'));
    EXPECT_TRUE(c.SeesEof());
  }
  {
    RawClient c(path_);  // only connects, then misses the deadline
    uint8_t greeting[18];
    ASSERT_TRUE(c.Recv(greeting, sizeof(greeting)));
    EXPECT_TRUE(c.SeesEof());
  }
  EXPECT_EQ(backend.attempts.load(), 0) << "a client that never chose the export cost a queue";

  RawClient go(path_);
  ASSERT_TRUE(go.Handshake(false));
  EXPECT_EQ(backend.opened.load(), 1);
  {
    RawClient old_style(path_);  // EXPORT_NAME: the reply waits for the queue too
    ASSERT_TRUE(old_style.Greet());
    old_style.SendOption(kOptExportName, "vol");
    uint8_t reply[10];
    ASSERT_TRUE(old_style.Recv(reply, sizeof(reply)));
    EXPECT_EQ(GetBe64(reply), kSize);
    EXPECT_EQ(backend.opened.load(), 2);
    std::vector<uint8_t> back(512);
    uint64_t cookie = 0;
    old_style.Request(kCmdRead, 0, 512, 5);
    EXPECT_EQ(old_style.SimpleReply(&cookie, back.data(), back.size()), 0);
    EXPECT_EQ(cookie, 5u);
  }
  uint64_t cookie = 0;
  go.Request(kCmdFlush, 0, 0, 1);
  EXPECT_EQ(go.SimpleReply(&cookie), 0);
}

TEST_F(ServerTest, GoIsRefusedCleanlyWhenTheQueueCannotOpen) {
  test_backend_ = std::make_unique<CountingBackend>(ram_.get());
  auto& backend = static_cast<CountingBackend&>(*test_backend_);
  backend.refuse = true;
  served_backend_ = &backend;
  StartServer();
  {
    RawClient c(path_);
    ASSERT_TRUE(c.Greet());
    c.SendOption(kOptGo, RawClient::InfoPayload("vol"));
    EXPECT_EQ(c.ReadOptionReplies(), kRepErrShutdown);
    // Still in option haggling: the client may leave politely.
    c.SendOption(kOptAbort, "");
    EXPECT_EQ(c.ReadOptionReplies(), kRepAck);
    EXPECT_TRUE(c.SeesEof());
  }
  {
    RawClient c(path_);
    ASSERT_TRUE(c.Greet());
    c.SendOption(kOptExportName, "vol");  // no error reply exists: closed
    EXPECT_TRUE(c.SeesEof());
  }
  EXPECT_EQ(backend.attempts.load(), 2);
  backend.refuse = false;
  served_backend_ = nullptr;
  ExpectServerServes();
}

// Every kind of hostile request from the list, each on its own
// connection, while a well-behaved client stays connected: each gets its
// error reply or is dropped, the data on the export never changes, and the
// well-behaved client is served throughout.
TEST_F(ServerTest, HostileClientsChangeNothingAndOthersCarryOn) {
  StartServer(/*depth=*/8);
  RawClient good(path_);
  ASSERT_TRUE(good.Handshake(false));
  std::vector<uint8_t> pattern(kSize);
  for (size_t i = 0; i < pattern.size(); ++i) {
    pattern[i] = static_cast<uint8_t>(i * 13 + i / 4096);
  }
  uint64_t cookie = 0;
  for (uint64_t offset = 0; offset < kSize; offset += 65536) {
    good.Request(kCmdWrite, offset, 65536, offset, 0, pattern.data() + offset);
    ASSERT_EQ(good.SimpleReply(&cookie), 0);
  }
  const auto data_unchanged = [&] { return std::memcmp(ram_->data(), pattern.data(), kSize) == 0; };
  // The good client reads a block back and gets the pattern.
  uint64_t probe = 0;
  const auto good_client_served = [&] {
    std::vector<uint8_t> back(4096);
    const uint64_t offset = (probe++ % 256) * 4096;
    good.Request(kCmdRead, offset, 4096, 4242);
    return good.SimpleReply(&cookie, back.data(), back.size()) == 0 && cookie == 4242 &&
           std::memcmp(back.data(), pattern.data() + offset, 4096) == 0;
  };
  std::vector<uint8_t> junk(2u << 20, 0xd6);

  struct Case {
    const char* what;
    std::function<void(RawClient&)> act;
  };
  const std::vector<Case> cases = {
      {"bad request magic",
       [&](RawClient& c) {
         c.Send(std::string(28, 'x'));
         EXPECT_TRUE(c.SeesEof());
       }},
      {"bad request magic after a good request",
       [&](RawClient& c) {
         c.Request(kCmdRead, 0, 512, 1);
         std::vector<uint8_t> back(512);
         EXPECT_EQ(c.SimpleReply(&cookie, back.data(), back.size()), 0);
         std::string bad(28, '\0');
         bad[0] = 0x25;  // almost the magic
         c.Send(bad);
         EXPECT_TRUE(c.SeesEof());
       }},
      {"oversized WRITE with its payload",
       [&](RawClient& c) {
         c.Request(kCmdWrite, 0, 2u << 20, 1, 0, junk.data());
         EXPECT_TRUE(c.SeesEof());
       }},
      {"oversized WRITE header only, length 4 GiB - 512",
       [&](RawClient& c) {
         c.Request(kCmdWrite, 0, 0xfffffe00u, 1);
         c.Send(junk.data(), 65536);
         EXPECT_TRUE(c.SeesEof());
       }},
      {"oversized READ",
       [&](RawClient& c) {
         c.Request(kCmdRead, 0, 2u << 20, 1);
         EXPECT_EQ(c.SimpleReply(&cookie), kEinval);
       }},
      {"WRITE straddling the end",
       [&](RawClient& c) {
         c.Request(kCmdWrite, kSize - 4096, 8192, 1, 0, junk.data());
         EXPECT_EQ(c.SimpleReply(&cookie), kEnospc);
       }},
      {"WRITE whose offset + length wraps around 2^64",
       [&](RawClient& c) {
         c.Request(kCmdWrite, ~uint64_t{0} - 511, 1024, 1, 0, junk.data());
         EXPECT_EQ(c.SimpleReply(&cookie), kEnospc);
       }},
      {"WRITE_ZEROES and TRIM past the end",
       [&](RawClient& c) {
         c.Request(kCmdWriteZeroes, kSize, 4096, 1);
         EXPECT_EQ(c.SimpleReply(&cookie), kEnospc);
         c.Request(kCmdWriteZeroes, kSize - 512, 4096, 2);
         EXPECT_EQ(c.SimpleReply(&cookie), kEnospc);
       }},
      {"READ past the end",
       [&](RawClient& c) {
         c.Request(kCmdRead, kSize, 512, 1);
         EXPECT_EQ(c.SimpleReply(&cookie), kEinval);
       }},
      {"unknown commands, then a request that still works",
       [&](RawClient& c) {
         for (uint16_t type : {uint16_t{7}, uint16_t{42}, uint16_t{0xffff}}) {
           c.Request(type, 0, 4096, type);
           EXPECT_EQ(c.SimpleReply(&cookie), kEinval);
           EXPECT_EQ(cookie, type);
         }
         std::vector<uint8_t> back(512);
         c.Request(kCmdRead, 512, 512, 9);
         EXPECT_EQ(c.SimpleReply(&cookie, back.data(), back.size()), 0);
         EXPECT_EQ(std::memcmp(back.data(), pattern.data() + 512, 512), 0);
       }},
      {"vanishes mid-header", [&](RawClient& c) { c.Send(junk.data(), 11); }},
      {"vanishes mid-WRITE payload",
       [&](RawClient& c) {
         c.Request(kCmdWrite, 65536, 131072, 1);
         c.Send(junk.data(), 100000);
       }},
      {"vanishes with READs in flight",
       [&](RawClient& c) {
         for (int i = 0; i < 32; ++i) {
           c.Request(kCmdRead, uint64_t{4096} * i, 65536, i);
         }
       }},
  };
  for (const Case& hostile : cases) {
    SCOPED_TRACE(hostile.what);
    {
      RawClient c(path_);
      ASSERT_TRUE(c.Handshake(false));
      hostile.act(c);
    }
    usleep(20 * 1000);  // let the server see a vanished client go
    EXPECT_TRUE(data_unchanged());
    EXPECT_TRUE(good_client_served());
  }
  EXPECT_TRUE(data_unchanged());
  ExpectServerServes();
}

// A LUN without DPOFUA (LIO fileio, for one): FUA on a WRITE is refused
// with an error, so the server must not pass it on. Records the operations
// it sees, in order.
class NoFuaBackend final : public ublk::Backend {
 public:
  NoFuaBackend(ublk::RamBackend* ram, bool volatile_cache) : ram_(ram), geometry_(ram->geometry()) {
    geometry_.fua = false;
    geometry_.volatile_cache = volatile_cache;
  }
  const ublk::Geometry& geometry() const override { return geometry_; }
  absl::StatusOr<std::unique_ptr<ublk::QueueBackend>> OpenQueue(
      const ublk::QueueContext& context) override {
    return std::make_unique<Queue>(this, context.sink);
  }
  absl::Status Flush() override { return absl::OkStatus(); }
  std::string Describe() const override { return "no FUA"; }

  std::mutex mu;
  std::string ops;  // "W" write, "F" flush, "!" a write with FUA

 private:
  class Queue final : public ublk::QueueBackend {
   public:
    Queue(NoFuaBackend* owner, ublk::QueueSink* sink) : owner_(owner), sink_(sink) {}
    void Submit(const ublk::IoRequest& io) override {
      {
        std::lock_guard<std::mutex> lock(owner_->mu);
        if (io.op == ublk::IoOp::kWrite) owner_->ops += io.fua ? "!" : "W";
        if (io.op == ublk::IoOp::kFlush) owner_->ops += "F";
      }
      if (io.op == ublk::IoOp::kWrite && io.fua) {
        sink_->CompleteIo(io.tag, -EIO);
        return;
      }
      sink_->CompleteIo(io.tag, owner_->ram_->Execute(io));
    }

   private:
    NoFuaBackend* owner_;
    ublk::QueueSink* sink_;
  };
  ublk::RamBackend* ram_;
  ublk::Geometry geometry_;
};

TEST_F(ServerTest, FuaWithoutBackendFuaBecomesWriteThenFlush) {
  for (const bool volatile_cache : {true, false}) {
    SCOPED_TRACE(volatile_cache ? "volatile cache" : "no cache");
    NoFuaBackend backend(ram_.get(), volatile_cache);
    served_backend_ = &backend;
    StartServer();
    RawClient c(path_);
    ASSERT_TRUE(c.Handshake(false));
    std::vector<uint8_t> data(4096, volatile_cache ? 0x11 : 0x22);
    uint64_t cookie = 0;
    c.Request(kCmdWrite, 8192, 4096, 1, kCmdFlagFua, data.data());
    EXPECT_EQ(c.SimpleReply(&cookie), 0);
    EXPECT_EQ(std::memcmp(ram_->data() + 8192, data.data(), data.size()), 0);
    c.Request(kCmdWrite, 0, 4096, 2, 0, data.data());
    EXPECT_EQ(c.SimpleReply(&cookie), 0);
    std::lock_guard<std::mutex> lock(backend.mu);
    EXPECT_EQ(backend.ops, volatile_cache ? "WFW" : "WW");
    TearDown();
    server_.reset();
  }
  served_backend_ = nullptr;
}

TEST(UriEscapeTest, Escapes) {
  EXPECT_EQ(UriEscape("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(UriEscape("/run/x y.sock", true), "/run/x%20y.sock");
}

}  // namespace
}  // namespace isergw::nbd
