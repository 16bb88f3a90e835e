// A TCP proxy between an initiator and a target (127.0.0.1) that reads the
// iSCSI PDUs on both ways and can lose the target's answers to chosen READ
// commands: the target ran them, the initiator never hears back, while the
// connection stays healthy (NOP-Outs and every other command pass). That is
// how a command timeout looks on a live session, which no real target does
// on demand. Digests must be off (the proxy does not skip them).
#ifndef ISERGW_TESTS_GATEWAY_REPLY_DROPPING_PROXY_H_
#define ISERGW_TESTS_GATEWAY_REPLY_DROPPING_PROXY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace isergw::testing {

class ReplyDroppingProxy {
 public:
  static absl::StatusOr<std::unique_ptr<ReplyDroppingProxy>> Start(uint16_t target_port);
  ~ReplyDroppingProxy();

  uint16_t port() const { return port_; }
  // The answers (Data-In, SCSI Response) to the next `count` READ commands
  // are lost.
  void LoseAnswersToReads(int count) { reads_to_lose_.store(count); }
  // READ commands whose answers were lost so far.
  int lost() const { return lost_.load(); }

 private:
  ReplyDroppingProxy() = default;
  void AcceptLoop();
  void Pump(int from, int to, bool from_initiator);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  uint16_t target_port_ = 0;
  std::atomic<int> reads_to_lose_{0};
  std::atomic<int> lost_{0};
  std::mutex mutex_;
  std::set<uint32_t> lost_itts_;  // guarded by mutex_
  std::vector<int> fds_;          // guarded by mutex_
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace isergw::testing

#endif  // ISERGW_TESTS_GATEWAY_REPLY_DROPPING_PROXY_H_
