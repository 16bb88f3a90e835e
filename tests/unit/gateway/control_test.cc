// The control protocol, socket and daemon, without ublk: what a user sees
// for malformed, oversized, unauthorised and unknown requests, and that
// nothing is attached or recorded by a refused one.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/time/clock.h"
#include "gateway/control_protocol.h"
#include "gateway/control_socket.h"
#include "gateway/daemon.h"
#include "gateway/state_file.h"
#include "iser_client/config/exit_codes.h"

namespace isergw::gateway {
namespace {

TEST(ControlProtocolTest, RequestsMustBeObjectsWithAnOp) {
  EXPECT_TRUE(ParseRequest(R"({"op":"list"})").ok());
  for (const char* bad : {"", "list", "[1]", R"({"op":3})", R"({"volume":"x"})", "{\"op\":"}) {
    auto request = ParseRequest(bad);
    ASSERT_FALSE(request.ok()) << bad;
    EXPECT_NE(request.status().message().find("malformed request"), absl::string_view::npos);
  }
  EXPECT_FALSE(ParseRequest(std::string(kMaxMessageBytes + 1, ' ')).ok());
}

TEST(ControlProtocolTest, ErrorRepliesCarryTheExitCodeToTheClient) {
  absl::Status refused = iscsi::WithFailure(absl::PermissionDeniedError("CHAP failed"),
                                            iscsi::FailureKind::kAuthFailed);
  const nlohmann::json reply = ErrorReply(refused);
  auto parsed = ParseReply(reply.dump());
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "CHAP failed");
  EXPECT_EQ(iscsi::ExitCodeFor(parsed.status()), iscsi::ExitCode::kLoginAuthFailed);
  EXPECT_TRUE(ParseReply(R"({"ok":true,"volumes":[]})").ok());
  EXPECT_FALSE(ParseReply("garbage").ok());
}

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/isergw-daemon-XXXXXX";
    dir_ = mkdtemp(pattern);
    options_.socket_path = dir_ + "/run/control.sock";
    options_.state_dir = dir_ + "/state";
    options_.config_dir = dir_ + "/etc";
    options_.links_root = dir_ + "/dev";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs the daemon's loop on a thread until Stop().
  void StartServing() {
    auto daemon = Daemon::Start(options_);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = std::move(*daemon);
    ASSERT_EQ(pipe(stop_pipe_), 0);
    server_ = std::thread([this] { served_ = daemon_->Run(stop_pipe_[0]); });
  }
  void Stop() {
    if (!server_.joinable()) return;
    // Run() reads a signalfd_siginfo from the fd: give it one's worth.
    char bytes[128] = {};
    ASSERT_EQ(write(stop_pipe_[1], bytes, sizeof(bytes)), static_cast<ssize_t>(sizeof(bytes)));
    server_.join();
    close(stop_pipe_[0]);
    close(stop_pipe_[1]);
    EXPECT_TRUE(served_.ok()) << served_;
    daemon_.reset();
  }
  absl::StatusOr<nlohmann::json> Call(const nlohmann::json& request) {
    return CallDaemon(options_.socket_path, request, absl::Seconds(10));
  }
  DaemonState State() {
    auto state = LoadState(options_.state_dir + "/volumes.json");
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : DaemonState{};
  }

  std::string dir_;
  DaemonOptions options_;
  std::unique_ptr<Daemon> daemon_;
  int stop_pipe_[2] = {-1, -1};
  std::thread server_;
  absl::Status served_;
};

TEST_F(DaemonTest, ListIsEmptyAndTheSocketIsRootOnly) {
  StartServing();
  auto reply = Call({{"op", "list"}});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE((*reply)["volumes"].empty());
  EXPECT_EQ(
      std::filesystem::status(options_.socket_path).permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  Stop();
}

TEST_F(DaemonTest, ASecondDaemonOnTheSameSocketIsRefused) {
  StartServing();
  auto second = Daemon::Start(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("another isergw daemon"), absl::string_view::npos);
  EXPECT_TRUE(Call({{"op", "list"}}).ok()) << "the first daemon must carry on";
  Stop();
}

TEST_F(DaemonTest, AStaleSocketFromADeadDaemonIsReplaced) {
  std::filesystem::create_directories(dir_ + "/run");
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  strcpy(address.sun_path, options_.socket_path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  close(fd);  // bound, never listening: what a killed daemon leaves
  StartServing();
  EXPECT_TRUE(Call({{"op", "list"}}).ok());
  Stop();
}

TEST_F(DaemonTest, NoDaemonSaysHowToStartOne) {
  auto reply = Call({{"op", "list"}});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("isergw daemon"), absl::string_view::npos);
  EXPECT_NE(reply.status().message().find("--foreground"), absl::string_view::npos);
  EXPECT_EQ(iscsi::ExitCodeFor(reply.status()), iscsi::ExitCode::kDaemonNotConnected);
}

TEST_F(DaemonTest, UnknownAndMalformedRequestsGetOneClearError) {
  StartServing();
  auto unknown = Call({{"op", "format-disk"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown request 'format-disk'"),
            absl::string_view::npos);
  EXPECT_EQ(iscsi::ExitCodeFor(unknown.status()), iscsi::ExitCode::kInvalidArgument);

  auto detach = Call({{"op", "detach"}, {"volume", "/dev/ublkb42"}});
  ASSERT_FALSE(detach.ok());
  EXPECT_NE(detach.status().message().find("no volume '/dev/ublkb42'"), absl::string_view::npos);

  auto status = Call({{"op", "status"}, {"volume", "nope"}});
  ASSERT_FALSE(status.ok());

  auto bad_type = Call({{"op", "detach"}, {"volume", 7}});
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("'volume' must be a string"), absl::string_view::npos);
  Stop();
}

// Raw bytes on the socket: the reply for each, and the daemon still answers.
std::string RawExchange(const std::string& path, const std::string& bytes, bool shut_write) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  strcpy(address.sun_path, path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return "connect";
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  if (shut_write) shutdown(fd, SHUT_WR);
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) reply.append(buffer, n);
  close(fd);
  return reply;
}

TEST_F(DaemonTest, OversizedTruncatedAndGarbageMessagesAreRefused) {
  StartServing();
  std::string huge = R"({"op":"list","pad":")" + std::string(kMaxMessageBytes * 2, 'x') + "\"}\n";
  std::string reply = RawExchange(options_.socket_path, huge, false);
  EXPECT_NE(reply.find("longer than"), std::string::npos) << reply.substr(0, 200);
  reply = RawExchange(options_.socket_path, R"({"op":"list")", true);
  EXPECT_NE(reply.find("closed before the message ended"), std::string::npos) << reply;
  reply = RawExchange(options_.socket_path, "\x01\x02garbage\n", false);
  EXPECT_NE(reply.find("not JSON"), std::string::npos) << reply;
  EXPECT_TRUE(Call({{"op", "list"}}).ok()) << "the daemon must carry on";
  Stop();
}

TEST_F(DaemonTest, NonRootPeersAreRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  StartServing();
  // The socket is 0600 root: open its folder to everyone so that only the
  // SO_PEERCRED check stands between uid 65534 and the daemon.
  for (const std::string& path : {dir_, dir_ + "/run"}) {
    std::filesystem::permissions(path, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::group_exec |
                                           std::filesystem::perms::others_exec);
  }
  std::filesystem::permissions(options_.socket_path, std::filesystem::perms::all);
  const pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    auto reply = CallDaemon(options_.socket_path, {{"op", "list"}}, absl::Seconds(5));
    const bool refused =
        !reply.ok() && reply.status().message().find("only root") != absl::string_view::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  Stop();
}

TEST_F(DaemonTest, RefusedAttachesLeaveNothingBehind) {
  StartServing();
  nlohmann::json secret = {
      {"op", "attach"},
      {"volume",
       {{"name", "v"}, {"url", "iscsi://u%topsecret@127.0.0.1/iqn.2026-11.example:v/0"}}}};
  auto reply = Call(secret);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().message().find("topsecret"), absl::string_view::npos);

  auto bad_name = Call({{"op", "attach"}, {"volume", {{"name", "../x"}, {"url", "mem://64M"}}}});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(iscsi::ExitCodeFor(bad_name.status()), iscsi::ExitCode::kInvalidArgument);

  auto no_file = Call({{"op", "attach"}, {"volume", {{"url", "file:///nonexistent/disk.img"}}}});
  ASSERT_FALSE(no_file.ok());
  EXPECT_NE(no_file.status().message().find("/nonexistent/disk.img"), absl::string_view::npos);

  auto list = Call({{"op", "list"}});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)["volumes"].empty());
  Stop();
  EXPECT_TRUE(State().volumes.empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/dev/isergw"));
  std::ifstream state(options_.state_dir + "/volumes.json");
  std::string text((std::istreambuf_iterator<char>(state)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("topsecret"), std::string::npos);
}

TEST_F(DaemonTest, RecordedVolumesThatCannotComeBackWaitAndAreTriedAgain) {
  // A persistent volume from an earlier boot whose backing file is gone.
  DaemonState state;
  state.boot_id = "another-boot";
  VolumeSpec gone;
  gone.name = "gone";
  gone.url = "file:///nonexistent/disk.img";
  gone.persist = true;
  VolumeSpec transient;
  transient.name = "transient";
  transient.url = "mem://64M";
  state.volumes = {{gone, 0}, {transient, 1}};
  std::filesystem::create_directories(options_.state_dir);
  ASSERT_TRUE(SaveState(options_.state_dir + "/volumes.json", state).ok());

  StartServing();
  EXPECT_EQ(daemon_->restore_failures(), 1);
  auto list = Call({{"op", "list"}});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ((*list)["volumes"].size(), 1u) << list->dump();
  EXPECT_EQ((*list)["volumes"][0]["name"], "gone");
  // Its backing store may appear later (boot order): it waits, and the
  // daemon keeps trying.
  EXPECT_EQ((*list)["volumes"][0]["state"], "waiting");
  EXPECT_EQ((*list)["volumes"][0]["attempts"], 1);
  EXPECT_NE((*list)["volumes"][0]["error"].get<std::string>().find("/nonexistent/disk.img"),
            std::string::npos);
  // `set` takes effect on a waiting volume too, and is recorded.
  auto set =
      Call({{"op", "set"}, {"volume", "gone"}, {"key", "replacement-timeout"}, {"value", "30"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(State().volumes[0].spec.replacement_timeout_s, 30u);
  auto too_long =
      Call({{"op", "set"}, {"volume", "gone"}, {"key", "replacement-timeout"}, {"value", "86401"}});
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("0 to 86400"), absl::string_view::npos)
      << too_long.status();
  EXPECT_EQ(State().volumes[0].spec.replacement_timeout_s, 30u);
  absl::SleepFor(absl::Seconds(3.5));
  list = Call({{"op", "list"}});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)["volumes"][0]["state"], "waiting");
  EXPECT_GE((*list)["volumes"][0]["attempts"], 2) << list->dump();
  // Kept for the next start (it is persistent), until detached.
  EXPECT_EQ(State().volumes.size(), 1u);
  auto detached = Call({{"op", "detach"}, {"volume", "gone"}});
  ASSERT_TRUE(detached.ok()) << detached.status();
  EXPECT_TRUE(State().volumes.empty());
  Stop();
}

TEST_F(DaemonTest, SetRefusesUnknownVolumesKeysAndValuesAndChangesNothing) {
  StartServing();
  auto unknown =
      Call({{"op", "set"}, {"volume", "nope"}, {"key", "replacement-timeout"}, {"value", "30"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(iscsi::ExitCodeFor(unknown.status()), iscsi::ExitCode::kNoObjectsFound);
  EXPECT_NE(unknown.status().message().find("no volume 'nope'"), absl::string_view::npos);
  auto key = Call({{"op", "set"}, {"volume", "nope"}, {"key", "queue-depth"}, {"value", "3"}});
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("cannot set 'queue-depth'"), absl::string_view::npos);
  for (const char* value : {"-1", "ten", "", "1.5"}) {
    auto bad =
        Call({{"op", "set"}, {"volume", "nope"}, {"key", "replacement-timeout"}, {"value", value}});
    ASSERT_FALSE(bad.ok()) << value;
    EXPECT_EQ(iscsi::ExitCodeFor(bad.status()), iscsi::ExitCode::kInvalidArgument) << value;
    EXPECT_NE(bad.status().message().find("whole seconds"), absl::string_view::npos);
  }
  EXPECT_TRUE(State().volumes.empty());
  Stop();
}

TEST_F(DaemonTest, ADamagedStateFileStopsTheDaemonWithItsName) {
  std::filesystem::create_directories(options_.state_dir);
  std::ofstream(options_.state_dir + "/volumes.json") << "{not json";
  auto daemon = Daemon::Start(options_);
  ASSERT_FALSE(daemon.ok());
  EXPECT_NE(daemon.status().message().find("volumes.json"), absl::string_view::npos);
}

}  // namespace
}  // namespace isergw::gateway
