#include "ublk/device.h"

#include <fcntl.h>
#include <glog/logging.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace isergw::ublk {
namespace {

// devtmpfs creates the nodes as the driver registers them; without it (or
// with a slow udev) they appear a little later.
constexpr absl::Duration kNodeTimeout = absl::Seconds(10);

// A process that still runs; a zombie (killed, not yet reaped) does not
// count: its /dev/ublkcN is already closed.
bool ProcessRunning(pid_t pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) {
    return false;
  }
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

}  // namespace

absl::StatusOr<uint32_t> ParseDevicePath(absl::string_view path) {
  absl::string_view rest = path;
  absl::ConsumePrefix(&rest, "/dev/");
  absl::ConsumePrefix(&rest, "ublkb");
  uint32_t id;
  if (rest.empty() || !absl::SimpleAtoi(rest, &id) ||
      rest.find_first_not_of("0123456789") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is not a ublk device (expected /dev/ublkbN)"));
  }
  return id;
}

Device::Device(Backend* backend, std::unique_ptr<ControlDevice> control)
    : backend_(backend), control_(std::move(control)) {
  failure_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

Device::~Device() {
  if (!stopped_) {
    absl::Status status = Stop();
    if (!status.ok()) {
      LOG(ERROR) << "stopping " << block_path() << ": " << status;
    }
  }
  if (failure_fd_ >= 0) {
    close(failure_fd_);
  }
}

absl::StatusOr<std::unique_ptr<Device>> Device::Create(Backend* backend,
                                                       const DeviceOptions& options) {
  const Geometry& geometry = backend->geometry();
  if (absl::Status s = ValidateOptions(options, MaxQueuesOnThisMachine()); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateGeometry(geometry); !s.ok()) {
    return s;
  }
  auto control = ControlDevice::Open();
  if (!control.ok()) {
    return control.status();
  }

  std::unique_ptr<Device> device(new Device(backend, std::move(*control)));
  const uint64_t flags =
      ChooseDeviceFlags(device->control_->features(), device->control_->features_known());
  auto added = device->control_->AddDevice(BuildDeviceInfo(options, geometry, flags));
  if (!added.ok()) {
    return added.status();
  }
  device->info_ = *added;
  device->added_ = true;
  device->stopped_ = false;

  if (device->info_.nr_hw_queues != options.queues) {
    absl::Status status = absl::InvalidArgumentError(
        absl::StrCat("too many queues: ", options.queues, " (the driver allows ",
                     device->info_.nr_hw_queues, " here, one per CPU)"));
    device->Abandon(true);
    return status;
  }
  absl::Status status = device->control_->SetParams(
      device->id(), BuildParams(geometry, device->info_.max_io_buf_bytes));
  if (status.ok()) {
    status = device->OpenCharDevice();
  }
  if (status.ok()) {
    status = device->StartQueues();
  }
  if (status.ok()) {
    status = device->control_->StartDevice(device->id(), getpid());
  }
  if (status.ok()) {
    status = device->WaitForBlockDevice();
  }
  if (!status.ok()) {
    device->Abandon(true);
    return status;
  }
  return device;
}

absl::StatusOr<std::unique_ptr<Device>> Device::Recover(Backend* backend, uint32_t dev_id,
                                                        const RecoverOptions& options) {
  const Geometry& geometry = backend->geometry();
  if (absl::Status s = ValidateGeometry(geometry); !s.ok()) {
    return s;
  }
  auto control = ControlDevice::Open();
  if (!control.ok()) {
    return control.status();
  }
  std::unique_ptr<Device> device(new Device(backend, std::move(*control)));
  ControlDevice& ctl = *device->control_;

  auto info = ctl.GetDeviceInfo(dev_id);
  if (!info.ok()) {
    if (absl::IsNotFound(info.status())) {
      return absl::NotFoundError(absl::StrCat("there is no ublk device ", dev_id));
    }
    return info.status();
  }
  device->info_ = *info;
  const std::string path = device->block_path();
  if ((info->flags & UBLK_F_USER_RECOVERY) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " was not created with user recovery; it cannot be taken over"));
  }
  auto params = ctl.GetParams(dev_id);
  if (!params.ok()) {
    return params.status();
  }
  if (params->basic.dev_sectors != geometry.capacity_bytes >> 9) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " has ", uint64_t{params->basic.dev_sectors} << 9, " bytes but ", backend->Describe(),
        " has ", geometry.capacity_bytes, ": not the same volume"));
  }
  if ((1u << params->basic.logical_bs_shift) != geometry.logical_block_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " has ", 1u << params->basic.logical_bs_shift,
                     "-byte blocks, the backend ", geometry.logical_block_size));
  }

  // Wait for the driver to see the old server gone (QUIESCED), then
  // START_USER_RECOVERY; it answers EBUSY while the old /dev/ublkcN is open.
  const absl::Time deadline = absl::Now() + options.quiesce_timeout;
  for (;;) {
    info = ctl.GetDeviceInfo(dev_id);
    if (!info.ok()) {
      return info.status();
    }
    if (info->state == UBLK_S_DEV_DEAD) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is stopped; there is nothing to recover"));
    }
    if (info->state == UBLK_S_DEV_LIVE && info->ublksrv_pid != getpid() &&
        ProcessRunning(info->ublksrv_pid)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is still served by process ", info->ublksrv_pid));
    }
    if (info->state == UBLK_S_DEV_QUIESCED) {
      absl::Status started = ctl.StartUserRecovery(dev_id);
      if (started.ok()) {
        break;
      }
      // An earlier attempt of ours (or of a server that died right after)
      // already sent START_USER_RECOVERY: the driver has reset its queues
      // and refuses a second START with EINVAL while still QUIESCED. The
      // recovery is under way: fetch and END it.
      if (absl::IsInvalidArgument(started)) {
        LOG(WARNING) << path << ": recovery was started by an earlier attempt; taking it over";
        break;
      }
      if (!absl::IsUnavailable(started)) {
        return started;
      }
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          path, " did not become ready for recovery (state ", DeviceStateName(info->state),
          ") within ", absl::FormatDuration(options.quiesce_timeout)));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  device->info_ = *info;
  device->added_ = true;
  device->stopped_ = false;
  absl::Status status = device->OpenCharDevice();
  if (status.ok()) {
    status = device->StartQueues();
  }
  if (status.ok()) {
    status = ctl.EndUserRecovery(dev_id, getpid());
  }
  if (status.ok()) {
    status = device->WaitForBlockDevice();
  }
  if (!status.ok()) {
    // Leave the device for another attempt: another server may recover it.
    device->Abandon(false);
    return status;
  }
  return device;
}

absl::Status Device::OpenCharDevice() {
  const std::string path = char_path();
  const absl::Time deadline = absl::Now() + kNodeTimeout;
  for (;;) {
    char_fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (char_fd_ >= 0) {
      return absl::OkStatus();
    }
    const int error = errno;
    if (error != ENOENT || absl::Now() >= deadline) {
      return absl::InternalError(absl::StrCat("cannot open ", path, ": ", strerror(error)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status Device::StartQueues() {
  for (uint16_t q = 0; q < info_.nr_hw_queues; ++q) {
    QueueConfig config;
    config.queue_id = q;
    config.depth = info_.queue_depth;
    config.buffer_bytes = info_.max_io_buf_bytes;
    config.char_fd = char_fd_;
    config.encoding = control_->encoding();
    config.geometry = backend_->geometry();
    config.backend = backend_;
    config.events = this;
    auto queue = std::make_unique<Queue>(config);
    absl::Status status = queue->Start();
    if (!status.ok()) {
      return status;
    }
    queues_.push_back(std::move(queue));
  }
  return absl::OkStatus();
}

absl::Status Device::WaitForBlockDevice() {
  const std::string path = block_path();
  const absl::Time deadline = absl::Now() + kNodeTimeout;
  struct stat st;
  while (stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) {
    if (absl::Now() >= deadline) {
      return absl::InternalError(absl::StrCat(path, " did not appear"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

void Device::StopQueues() {
  for (auto& queue : queues_) {
    queue->RequestStop();
  }
  for (auto& queue : queues_) {
    queue->Join();
  }
  queues_.clear();
  if (char_fd_ >= 0) {
    close(char_fd_);
    char_fd_ = -1;
  }
}

void Device::Abandon(bool delete_device) {
  stopped_ = true;
  if (delete_device && !queues_.empty()) {
    // STOP_DEV aborts the fetches of a device that never started, too.
    absl::Status s = control_->StopDevice(id());
    if (!s.ok()) {
      LOG(WARNING) << s;
    }
  }
  StopQueues();
  if (delete_device && added_) {
    absl::Status s = control_->DeleteDevice(id());
    if (!s.ok()) {
      LOG(ERROR) << "could not delete ublk device " << id() << ": " << s;
    }
  }
  added_ = false;
}

absl::Status Device::Stop() {
  if (stopped_) {
    return absl::OkStatus();
  }
  stopped_ = true;
  // The block layer drains in-flight requests through the running queues;
  // the driver then aborts every fetch and the queue threads end.
  absl::Status status = control_->StopDevice(id());
  StopQueues();
  absl::Status flushed = backend_->Flush();
  if (status.ok()) {
    status = flushed;
  }
  absl::Status deleted = control_->DeleteDevice(id());
  if (status.ok()) {
    status = deleted;
  }
  added_ = false;
  return status;
}

IoStatsSnapshot Device::stats() const {
  IoStatsSnapshot total;
  for (const auto& queue : queues_) {
    total.Merge(queue->stats().Snapshot());
  }
  return total;
}

absl::Status Device::failure() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  return failure_;
}

void Device::OnQueueFailed(uint16_t queue_id, const absl::Status& why) {
  {
    std::lock_guard<std::mutex> lock(failure_mu_);
    if (failure_.ok()) {
      failure_ = absl::Status(why.code(), absl::StrCat("queue ", queue_id, ": ", why.message()));
    }
  }
  uint64_t one = 1;
  ssize_t n = write(failure_fd_, &one, sizeof(one));
  (void)n;
}

}  // namespace isergw::ublk
