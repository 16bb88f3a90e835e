#include "tests/gateway/reply_dropping_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "iser_client/pdu/bhs.h"
#include "iser_client/pdu/padding.h"
#include "iser_client/scsi/cdb.h"

namespace isergw::testing {
namespace {

bool ReadAll(int fd, uint8_t* data, size_t length) {
  while (length > 0) {
    ssize_t n = read(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

bool WriteAll(int fd, const uint8_t* data, size_t length) {
  while (length > 0) {
    ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplyDroppingProxy>> ReplyDroppingProxy::Start(
    uint16_t target_port) {
  std::unique_ptr<ReplyDroppingProxy> proxy(new ReplyDroppingProxy());
  proxy->target_port_ = target_port;
  proxy->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (proxy->listen_fd_ < 0) return absl::ErrnoToStatus(errno, "socket");
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(proxy->listen_fd_, 16) != 0 ||
      getsockname(proxy->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::ErrnoToStatus(errno, "proxy listen");
  }
  proxy->port_ = ntohs(addr.sin_port);
  proxy->acceptor_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

ReplyDroppingProxy::~ReplyDroppingProxy() {
  shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
  }
  for (std::thread& t : threads_) t.join();
  for (int fd : fds_) close(fd);
  close(listen_fd_);
}

void ReplyDroppingProxy::AcceptLoop() {
  for (;;) {
    int initiator = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (initiator < 0) {
      if (errno == EINTR) continue;
      return;  // shut down
    }
    int target = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(target_port_);
    if (target < 0 || connect(target, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(initiator);
      if (target >= 0) close(target);
      continue;
    }
    int one = 1;
    setsockopt(initiator, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(target, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fds_.push_back(initiator);
      fds_.push_back(target);
    }
    threads_.emplace_back([this, initiator, target] { Pump(initiator, target, true); });
    threads_.emplace_back([this, initiator, target] { Pump(target, initiator, false); });
  }
}

// Moves whole PDUs from `from` to `to` until either side closes; then
// closes both ways so that the other pump ends too.
void ReplyDroppingProxy::Pump(int from, int to, bool from_initiator) {
  using iscsi::Opcode;
  std::vector<uint8_t> pdu;
  for (;;) {
    pdu.resize(iscsi::kBhsSize);
    if (!ReadAll(from, pdu.data(), iscsi::kBhsSize)) break;
    const iscsi::ConstBhsBytes bhs(pdu.data(), iscsi::kBhsSize);
    const size_t rest =
        iscsi::PeekTotalAhsLength(bhs) + iscsi::PaddedLength(iscsi::PeekDataSegmentLength(bhs));
    const Opcode opcode = iscsi::PeekOpcode(bhs);
    const uint32_t itt = iscsi::PeekItt(bhs);
    const uint8_t cdb_opcode = pdu[32];
    pdu.resize(iscsi::kBhsSize + rest);
    if (rest > 0 && !ReadAll(from, pdu.data() + iscsi::kBhsSize, rest)) break;
    bool forward = true;
    if (from_initiator && opcode == Opcode::kScsiCommand &&
        (cdb_opcode == scsi::opcode::kRead10 || cdb_opcode == scsi::opcode::kRead16)) {
      int left = reads_to_lose_.load();
      while (left > 0 && !reads_to_lose_.compare_exchange_weak(left, left - 1)) {
      }
      if (left > 0) {
        std::lock_guard<std::mutex> lock(mutex_);
        lost_itts_.insert(itt);
        lost_.fetch_add(1);
      }
    } else if (!from_initiator && (opcode == Opcode::kDataIn || opcode == Opcode::kScsiResponse)) {
      std::lock_guard<std::mutex> lock(mutex_);
      forward = lost_itts_.count(itt) == 0;
    }
    if (forward && !WriteAll(to, pdu.data(), pdu.size())) break;
  }
  shutdown(from, SHUT_RDWR);
  shutdown(to, SHUT_RDWR);
}

}  // namespace isergw::testing
