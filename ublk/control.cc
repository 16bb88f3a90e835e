#include "ublk/control.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace isergw::ublk {
namespace {

// Waits for the one CQE of a synchronous command.
class ResultWaiter : public uring::Completion {
 public:
  void OnComplete(int32_t res, uint32_t /*flags*/) override {
    result = res;
    done = true;
  }
  int32_t result = 0;
  bool done = false;
};

ublksrv_ctrl_cmd Header(uint32_t dev_id) {
  ublksrv_ctrl_cmd cmd{};
  cmd.dev_id = dev_id;
  cmd.queue_id = 0xffff;  // not a queue command; ADD_DEV insists on it
  return cmd;
}

}  // namespace

absl::Status ControlError(ControlCommand command, uint32_t dev_id, int error) {
  std::string what = absl::StrCat("ublk ", ControlCommandName(command));
  if (dev_id != ~0u) {
    absl::StrAppend(&what, " (device ", dev_id, ")");
  }
  absl::StrAppend(&what, ": ", strerror(error));
  switch (error) {
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(absl::StrCat(what, " (needs root or CAP_SYS_ADMIN)"));
    case EINVAL:
      return absl::InvalidArgumentError(what);
    case ENODEV:
    case ENOENT:
      return absl::NotFoundError(what);
    case EBUSY:
      return absl::UnavailableError(what);
    case EEXIST:
      return absl::AlreadyExistsError(what);
    case EOPNOTSUPP:
      return absl::UnimplementedError(what);
    default:
      return absl::InternalError(what);
  }
}

absl::StatusOr<std::unique_ptr<ControlDevice>> ControlDevice::Open(const char* path) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENXIO || error == ENODEV) {
      absl::Status status = absl::NotFoundError(
          absl::StrCat(path,
                       " does not exist: the ublk driver is not loaded (run `modprobe ublk_drv` as "
                       "root; the kernel needs CONFIG_BLK_DEV_UBLK, Linux 6.0 or later)"));
      status.SetPayload(kDriverMissingPayload, absl::Cord("1"));
      return status;
    }
    if (error == EACCES || error == EPERM) {
      return absl::PermissionDeniedError(
          absl::StrCat("permission denied opening ", path,
                       ": creating ublk devices needs root (CAP_SYS_ADMIN)"));
    }
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", strerror(error)));
  }
  uring::EventLoop::Options options;
  options.entries = 4;
  options.sqe128 = true;
  // A device is created by one daemon thread and stopped by another.
  options.single_issuer = false;
  auto loop = uring::EventLoop::Create(options);
  if (!loop.ok()) {
    close(fd);
    return loop.status();
  }
  std::unique_ptr<ControlDevice> control(new ControlDevice(fd, std::move(*loop)));

  // GET_FEATURES (6.5+) in the ioctl encoding (6.4+) first, then the legacy
  // number; a kernel that takes neither is older than 6.5 and gets legacy
  // opcodes with the 6.1 feature set assumed.
  uint64_t features = 0;
  ublksrv_ctrl_cmd cmd = Header(~0u);
  cmd.addr = reinterpret_cast<uint64_t>(&features);
  cmd.len = UBLK_FEATURES_LEN;
  control->encoding_ = OpcodeEncoding::kIoctl;
  int res = control->Send(ControlCommand::kGetFeatures, cmd);
  if (res < 0) {
    control->encoding_ = OpcodeEncoding::kLegacy;
    res = control->Send(ControlCommand::kGetFeatures, cmd);
  }
  if (res == -EPERM || res == -EACCES) {
    return control->Check(ControlCommand::kGetFeatures, ~0u, res);
  }
  if (res >= 0) {
    control->features_ = features;
    control->features_known_ = true;
    if (features & UBLK_F_CMD_IOCTL_ENCODE) {
      control->encoding_ = OpcodeEncoding::kIoctl;
    }
  }
  return control;
}

ControlDevice::ControlDevice(int fd, std::unique_ptr<uring::EventLoop> loop)
    : fd_(fd), loop_(std::move(loop)) {}

ControlDevice::~ControlDevice() {
  loop_.reset();
  close(fd_);
}

int ControlDevice::Send(ControlCommand command, const ublksrv_ctrl_cmd& header) {
  ResultWaiter waiter;
  io_uring_sqe* sqe = loop_->GetSqe(&waiter);
  // An SQE128 ring's entries are 128 bytes; clear all of them but keep
  // the user_data GetSqe set.
  const __u64 user_data = sqe->user_data;
  std::memset(sqe, 0, 128);
  sqe->user_data = user_data;
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd_;
  sqe->cmd_op = ControlOpcode(command, encoding_);
  std::memcpy(sqe->cmd, &header, sizeof(header));
  absl::Status run = loop_->RunUntil([&] { return waiter.done; });
  if (!run.ok()) {
    return -EIO;
  }
  return waiter.result;
}

absl::Status ControlDevice::Check(ControlCommand command, uint32_t dev_id, int result) {
  if (result >= 0) {
    return absl::OkStatus();
  }
  return ControlError(command, dev_id, -result);
}

absl::StatusOr<ublksrv_ctrl_dev_info> ControlDevice::AddDevice(const ublksrv_ctrl_dev_info& info) {
  ublksrv_ctrl_dev_info inout = info;
  ublksrv_ctrl_cmd cmd = Header(info.dev_id);
  cmd.addr = reinterpret_cast<uint64_t>(&inout);
  cmd.len = sizeof(inout);
  absl::Status status = Check(ControlCommand::kAddDev, ~0u, Send(ControlCommand::kAddDev, cmd));
  if (!status.ok()) {
    return status;
  }
  return inout;
}

absl::Status ControlDevice::DeleteDevice(uint32_t dev_id) {
  // DEL_DEV waits until nobody has the block device open, which a detach
  // --force (or a crashed user holding it) would turn into a hang; the
  // asynchronous form lets the last close finish the removal.
  if (encoding_ == OpcodeEncoding::kIoctl) {
    const int res = Send(ControlCommand::kDelDevAsync, Header(dev_id));
    if (res >= 0) return absl::OkStatus();
    if (res != -EINVAL && res != -ENOTTY && res != -EOPNOTSUPP) {
      return Check(ControlCommand::kDelDevAsync, dev_id, res);
    }
  }
  return Check(ControlCommand::kDelDev, dev_id, Send(ControlCommand::kDelDev, Header(dev_id)));
}

absl::Status ControlDevice::SetParams(uint32_t dev_id, const ublk_params& params) {
  ublk_params copy = params;
  ublksrv_ctrl_cmd cmd = Header(dev_id);
  cmd.addr = reinterpret_cast<uint64_t>(&copy);
  cmd.len = sizeof(copy);
  return Check(ControlCommand::kSetParams, dev_id, Send(ControlCommand::kSetParams, cmd));
}

absl::StatusOr<ublk_params> ControlDevice::GetParams(uint32_t dev_id) {
  ublk_params params{};
  params.len = sizeof(params);
  ublksrv_ctrl_cmd cmd = Header(dev_id);
  cmd.addr = reinterpret_cast<uint64_t>(&params);
  cmd.len = sizeof(params);
  absl::Status status =
      Check(ControlCommand::kGetParams, dev_id, Send(ControlCommand::kGetParams, cmd));
  if (!status.ok()) {
    return status;
  }
  return params;
}

absl::Status ControlDevice::StartDevice(uint32_t dev_id, pid_t server_pid) {
  ublksrv_ctrl_cmd cmd = Header(dev_id);
  cmd.data[0] = static_cast<uint64_t>(server_pid);
  return Check(ControlCommand::kStartDev, dev_id, Send(ControlCommand::kStartDev, cmd));
}

absl::Status ControlDevice::StopDevice(uint32_t dev_id) {
  return Check(ControlCommand::kStopDev, dev_id, Send(ControlCommand::kStopDev, Header(dev_id)));
}

absl::StatusOr<ublksrv_ctrl_dev_info> ControlDevice::GetDeviceInfo(uint32_t dev_id) {
  ublksrv_ctrl_dev_info info{};
  ublksrv_ctrl_cmd cmd = Header(dev_id);
  cmd.addr = reinterpret_cast<uint64_t>(&info);
  cmd.len = sizeof(info);
  absl::Status status =
      Check(ControlCommand::kGetDevInfo, dev_id, Send(ControlCommand::kGetDevInfo, cmd));
  if (!status.ok()) {
    return status;
  }
  return info;
}

absl::Status ControlDevice::StartUserRecovery(uint32_t dev_id) {
  return Check(ControlCommand::kStartUserRecovery, dev_id,
               Send(ControlCommand::kStartUserRecovery, Header(dev_id)));
}

absl::Status ControlDevice::EndUserRecovery(uint32_t dev_id, pid_t server_pid) {
  ublksrv_ctrl_cmd cmd = Header(dev_id);
  cmd.data[0] = static_cast<uint64_t>(server_pid);
  return Check(ControlCommand::kEndUserRecovery, dev_id,
               Send(ControlCommand::kEndUserRecovery, cmd));
}

}  // namespace isergw::ublk
