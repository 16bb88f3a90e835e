// /dev/nbdN served from this process, for hosts without ublk: the kernel's
// NBD client is given one end of a socketpair per connection through the
// NBD generic netlink family (what nbd-client -N does), and each other end
// is served by a Connection on a thread of its own, as for network clients.
// The kernel does no handshake on those sockets: the connections start in
// transmission with simple replies, and the block layer is told the largest
// request the server takes (max_sectors_kb), which NBD cannot say.
#ifndef NBD_KERNEL_DEVICE_H_
#define NBD_KERNEL_DEVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nbd/handshake.h"
#include "ublk/backend.h"

namespace isergw::nbd {

struct KernelDeviceOptions {
  uint16_t connections = 1;  // one queue thread (and kernel socket) each
  uint16_t depth = 128;      // requests in flight per connection
  uint32_t timeout_seconds = 30;
  int index = -1;  // /dev/nbdINDEX; -1: the kernel picks a free one
};

// Netlink message encoding, exposed for tests. `family` is the NBD generic
// netlink family id; fds are the kernel's ends of the sockets.
std::vector<uint8_t> EncodeGetFamily(uint32_t sequence);
std::vector<uint8_t> EncodeConnect(uint16_t family, uint32_t sequence, const ExportInfo& info,
                                   const std::vector<int>& fds, const KernelDeviceOptions& options);
std::vector<uint8_t> EncodeDisconnect(uint16_t family, uint32_t sequence, uint32_t index);

class KernelDevice {
 public:
  // Unavailable if the kernel has no NBD driver (modprobe nbd).
  static absl::StatusOr<std::unique_ptr<KernelDevice>> Attach(ublk::Backend* backend,
                                                              const KernelDeviceOptions& options);
  ~KernelDevice();  // Detach()
  KernelDevice(const KernelDevice&) = delete;
  KernelDevice& operator=(const KernelDevice&) = delete;

  // Disconnects the device (the kernel fails what it still has queued and
  // closes its sockets), then waits for the connection threads. Idempotent.
  absl::Status Detach();

  // True once every connection has ended: the kernel let go of the device
  // (disconnected from outside, or timed out).
  bool disconnected() const;
  // Why the first connection that failed ended (a backend gone for good,
  // say); OK while none has. Meaningful once disconnected().
  absl::Status failure() const;

  uint32_t index() const { return index_; }
  std::string device_path() const { return "/dev/nbd" + std::to_string(index_); }

 private:
  struct Worker {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
    absl::Status result;  // written by the thread before `done`
  };
  KernelDevice() = default;

  ExportInfo export_;
  uint16_t family_ = 0;
  uint32_t index_ = 0;
  bool attached_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace isergw::nbd

#endif  // NBD_KERNEL_DEVICE_H_
