// A ublk block device served by a Backend: the control-plane sequence
// (ADD_DEV, SET_PARAMS, queues fetching, START_DEV; or the recovery of a
// device whose server died) and its orderly end (STOP_DEV, queues drained,
// backend flushed, DEL_DEV). Create, Recover and Stop run on the control
// thread; the queues run on their own threads.
//
// Signals: block SIGTERM/SIGINT (pthread_sigmask) before Create or Recover
// so the queue threads inherit the mask and the control thread alone
// handles them.
#ifndef UBLK_DEVICE_H_
#define UBLK_DEVICE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ublk/backend.h"
#include "ublk/control.h"
#include "ublk/io_stats.h"
#include "ublk/params.h"
#include "ublk/queue.h"

namespace isergw::ublk {

struct RecoverOptions {
  // How long to wait for the driver to notice the old server is gone
  // (device state QUIESCED) before giving up.
  absl::Duration quiesce_timeout = absl::Seconds(30);
};

class Device final : private QueueEvents {
 public:
  // Adds a device for `backend` (which must outlive the Device) and starts
  // it; returns once /dev/ublkbN takes I/O. On any failure the device is
  // deleted again: nothing is left behind.
  static absl::StatusOr<std::unique_ptr<Device>> Create(Backend* backend,
                                                        const DeviceOptions& options);

  // Takes over device `dev_id` whose server died (it must have been created
  // with user recovery): the queue count and depth are the device's; the
  // backend must have the device's size and block size. Returns once I/O
  // flows again.
  static absl::StatusOr<std::unique_ptr<Device>> Recover(Backend* backend, uint32_t dev_id,
                                                         const RecoverOptions& options = {});

  ~Device();  // Stop() unless done

  uint32_t id() const { return info_.dev_id; }
  std::string block_path() const { return absl::StrCat("/dev/ublkb", info_.dev_id); }
  std::string char_path() const { return absl::StrCat("/dev/ublkc", info_.dev_id); }
  const ublksrv_ctrl_dev_info& info() const { return info_; }
  const ControlDevice& control() const { return *control_; }

  // What the queues have served so far, summed. Not concurrently with Stop.
  IoStatsSnapshot stats() const;

  // An eventfd that becomes readable when a queue's backend failed for
  // good; the caller should then Stop(). failure() says why.
  int failure_fd() const { return failure_fd_; }
  absl::Status failure() const;

  // STOP_DEV (the block layer drains in-flight I/O through the running
  // queues), then the queues end, the backend flushes, DEL_DEV. Idempotent.
  absl::Status Stop();

 private:
  Device(Backend* backend, std::unique_ptr<ControlDevice> control);
  absl::Status OpenCharDevice();
  absl::Status StartQueues();
  void StopQueues();
  absl::Status WaitForBlockDevice();
  // Undoes a half-made device: stops queues, closes, deletes.
  void Abandon(bool delete_device);
  void OnQueueFailed(uint16_t queue_id, const absl::Status& why) override;

  Backend* backend_;
  std::unique_ptr<ControlDevice> control_;
  ublksrv_ctrl_dev_info info_{};
  int char_fd_ = -1;
  int failure_fd_ = -1;
  std::vector<std::unique_ptr<Queue>> queues_;
  bool added_ = false;
  bool stopped_ = true;  // false while there is a device to stop
  mutable std::mutex failure_mu_;
  absl::Status failure_;  // guarded by failure_mu_
};

// The device number in "/dev/ublkbN" (or "ublkbN", or "N").
absl::StatusOr<uint32_t> ParseDevicePath(absl::string_view path);

}  // namespace isergw::ublk

#endif  // UBLK_DEVICE_H_
