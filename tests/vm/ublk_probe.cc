// ublk_probe: asks /dev/ublk-control for the driver's feature bits with a
// GET_FEATURES control command and prints them. Used by the guest test
// 001-ublk-control to prove the guest kernel's ublk driver answers.
//
// Control commands travel as io_uring URING_CMD in 128-byte SQEs; the
// command header (struct ublksrv_ctrl_cmd) sits in the SQE's command area.
// The ioctl-encoded opcode is tried first (kernels since 6.4), then the
// legacy number (kernels built with CONFIG_BLKDEV_UBLK_LEGACY_OPCODES).
//
// Exit status: 0 when the driver answered, 1 otherwise (with the reason).

#include <fcntl.h>
#include <liburing.h>
#include <linux/ublk_cmd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

// Debian 12's <linux/ublk_cmd.h> comes from Linux 6.1, which predates
// GET_FEATURES (6.5) and the ioctl-encoded opcodes (6.4). These values are
// the kernel's documented UAPI, defined here only where the header lacks them.
#ifndef UBLK_CMD_GET_FEATURES
#define UBLK_CMD_GET_FEATURES 0x13
#endif
#ifndef UBLK_U_CMD_GET_FEATURES
#define UBLK_U_CMD_GET_FEATURES _IOR('u', UBLK_CMD_GET_FEATURES, struct ublksrv_ctrl_cmd)
#endif
#ifndef UBLK_FEATURES_LEN
#define UBLK_FEATURES_LEN 8
#endif

namespace {

struct FeatureName {
  int bit;
  const char* name;
};

// Bit numbers of UBLK_F_* from the kernel UAPI (include/uapi/linux/ublk_cmd.h).
constexpr FeatureName kFeatureNames[] = {
    {0, "SUPPORT_ZERO_COPY"},
    {1, "URING_CMD_COMP_IN_TASK"},
    {2, "NEED_GET_DATA"},
    {3, "USER_RECOVERY"},
    {4, "USER_RECOVERY_REISSUE"},
    {5, "UNPRIVILEGED_DEV"},
    {6, "CMD_IOCTL_ENCODE"},
    {7, "USER_COPY"},
    {8, "ZONED"},
    {9, "USER_RECOVERY_FAIL_IO"},
    {10, "UPDATE_SIZE"},
    {11, "AUTO_BUF_REG"},
    {12, "QUIESCE"},
    {13, "PER_IO_DAEMON"},
};

static_assert(sizeof(ublksrv_ctrl_cmd) == 32, "ublksrv_ctrl_cmd ABI is 32 bytes");

// Sends one GET_FEATURES with opcode `op`; returns the CQE result (0 or
// -errno) and fills `features` on success.
int SendGetFeatures(io_uring* ring, int control_fd, uint32_t op, uint64_t* features) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) return -EBUSY;
  // The SQE is 128 bytes long in an SQE128 ring.
  std::memset(sqe, 0, 128);
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = control_fd;
  sqe->cmd_op = op;
  ublksrv_ctrl_cmd cmd{};
  cmd.dev_id = ~0U;  // GET_FEATURES addresses the driver, not a device.
  cmd.queue_id = ~0;
  cmd.addr = reinterpret_cast<uint64_t>(features);
  cmd.len = UBLK_FEATURES_LEN;
  std::memcpy(sqe->cmd, &cmd, sizeof(cmd));

  int ret = io_uring_submit(ring);
  if (ret < 0) return ret;
  io_uring_cqe* cqe = nullptr;
  ret = io_uring_wait_cqe(ring, &cqe);
  if (ret < 0) return ret;
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

}  // namespace

int main() {
  int fd = open("/dev/ublk-control", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "ublk_probe: cannot open /dev/ublk-control: %s\n", std::strerror(errno));
    return 1;
  }
  io_uring ring;
  int ret = io_uring_queue_init(4, &ring, IORING_SETUP_SQE128);
  if (ret < 0) {
    std::fprintf(stderr, "ublk_probe: io_uring_queue_init(SQE128): %s\n", std::strerror(-ret));
    return 1;
  }

  uint64_t features = 0;
  const char* encoding = "ioctl-encoded";
  ret = SendGetFeatures(&ring, fd, UBLK_U_CMD_GET_FEATURES, &features);
  if (ret < 0) {
    std::fprintf(stderr, "ublk_probe: ioctl-encoded GET_FEATURES (0x%x): %s; trying legacy\n",
                 static_cast<unsigned>(UBLK_U_CMD_GET_FEATURES), std::strerror(-ret));
    encoding = "legacy";
    ret = SendGetFeatures(&ring, fd, UBLK_CMD_GET_FEATURES, &features);
  }
  io_uring_queue_exit(&ring);
  close(fd);
  if (ret < 0) {
    std::fprintf(stderr, "ublk_probe: GET_FEATURES failed: %s\n", std::strerror(-ret));
    return 1;
  }

  std::printf("opcode_encoding=%s\n", encoding);
  std::printf("features=0x%016llx\n", static_cast<unsigned long long>(features));
  uint64_t named = 0;
  for (const FeatureName& f : kFeatureNames) {
    if (features & (1ULL << f.bit)) {
      std::printf("feature %s\n", f.name);
      named |= 1ULL << f.bit;
    }
  }
  if (features & ~named) {
    std::printf("unnamed_bits=0x%llx\n", static_cast<unsigned long long>(features & ~named));
  }
  return 0;
}
