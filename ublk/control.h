// /dev/ublk-control: the driver's control commands, sent as io_uring
// URING_CMD in 128-byte SQEs (the command header sits in the SQE's command
// area). One ControlDevice per control thread; every call blocks that thread
// until the driver answers (START_DEV and END_USER_RECOVERY wait for all
// queues to fetch, so call them while the queue threads run).
#ifndef UBLK_CONTROL_H_
#define UBLK_CONTROL_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "iser_client/uring/event_loop.h"
#include "ublk/uapi.h"

namespace isergw::ublk {

inline constexpr char kControlPath[] = "/dev/ublk-control";

// Payload URL marking "the ublk driver is not loaded" on a status, so the
// CLI can give iscsiadm's "transport module not available" exit code.
inline constexpr char kDriverMissingPayload[] = "isergw/ublk-driver-missing";

class ControlDevice {
 public:
  // Opens the control device and asks for the driver's features, finding
  // out which opcode encoding it takes. Errors: NotFound (with the
  // driver-missing payload) when /dev/ublk-control does not exist, saying
  // to `modprobe ublk_drv`; PermissionDenied without the rights.
  static absl::StatusOr<std::unique_ptr<ControlDevice>> Open(const char* path = kControlPath);
  ~ControlDevice();
  ControlDevice(const ControlDevice&) = delete;
  ControlDevice& operator=(const ControlDevice&) = delete;

  // UBLK_F_* bits from GET_FEATURES; features_known() is false on kernels
  // without GET_FEATURES (before 6.5).
  uint64_t features() const { return features_; }
  bool features_known() const { return features_known_; }
  OpcodeEncoding encoding() const { return encoding_; }

  // ADD_DEV: returns the info as the driver completed it (dev_id, clamped
  // queue count, buffer size, the flags it really set).
  absl::StatusOr<ublksrv_ctrl_dev_info> AddDevice(const ublksrv_ctrl_dev_info& info);
  absl::Status DeleteDevice(uint32_t dev_id);
  absl::Status SetParams(uint32_t dev_id, const ublk_params& params);
  absl::StatusOr<ublk_params> GetParams(uint32_t dev_id);
  absl::Status StartDevice(uint32_t dev_id, pid_t server_pid);
  absl::Status StopDevice(uint32_t dev_id);
  absl::StatusOr<ublksrv_ctrl_dev_info> GetDeviceInfo(uint32_t dev_id);
  absl::Status StartUserRecovery(uint32_t dev_id);
  absl::Status EndUserRecovery(uint32_t dev_id, pid_t server_pid);

  // Sends one command and returns the CQE result (0 or -errno).
  int Send(ControlCommand command, const ublksrv_ctrl_cmd& header);

 private:
  ControlDevice(int fd, std::unique_ptr<uring::EventLoop> loop);
  absl::Status Check(ControlCommand command, uint32_t dev_id, int result);

  int fd_;
  std::unique_ptr<uring::EventLoop> loop_;
  uint64_t features_ = 0;
  bool features_known_ = false;
  OpcodeEncoding encoding_ = OpcodeEncoding::kIoctl;
};

// "ublk add_dev: Operation not permitted" with the absl code for `errno`.
absl::Status ControlError(ControlCommand command, uint32_t dev_id, int error);

}  // namespace isergw::ublk

#endif  // UBLK_CONTROL_H_
