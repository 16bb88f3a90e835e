// The ublk driver's user ABI (include/uapi/linux/ublk_cmd.h), completed for
// old system headers. Debian 12's linux-libc-dev is from Linux 6.1, which has
// only the legacy opcodes and lacks everything added since (ioctl-encoded
// opcodes 6.4, GET_FEATURES 6.5, ...). Each missing name is defined here from
// the kernel's documented values, under #ifndef so newer headers win.
#ifndef UBLK_UAPI_H_
#define UBLK_UAPI_H_

#include <linux/ublk_cmd.h>
#include <sys/ioctl.h>

#include <cstdint>

// Legacy control opcodes added after 6.1.
#ifndef UBLK_CMD_GET_DEV_INFO2
#define UBLK_CMD_GET_DEV_INFO2 0x12
#endif
#ifndef UBLK_CMD_GET_FEATURES
#define UBLK_CMD_GET_FEATURES 0x13
#endif
#ifndef UBLK_FEATURES_LEN
#define UBLK_FEATURES_LEN 8
#endif

// Feature bits after 6.1.
#ifndef UBLK_F_UNPRIVILEGED_DEV
#define UBLK_F_UNPRIVILEGED_DEV (1ULL << 5)
#endif
#ifndef UBLK_F_CMD_IOCTL_ENCODE
#define UBLK_F_CMD_IOCTL_ENCODE (1ULL << 6)
#endif
#ifndef UBLK_F_USER_COPY
#define UBLK_F_USER_COPY (1ULL << 7)
#endif
#ifndef UBLK_F_ZONED
#define UBLK_F_ZONED (1ULL << 8)
#endif
#ifndef UBLK_F_USER_RECOVERY_FAIL_IO
#define UBLK_F_USER_RECOVERY_FAIL_IO (1ULL << 9)
#endif

// Device state UBLK_S_DEV_FAIL_IO (6.13) for completeness of state names.
#ifndef UBLK_S_DEV_FAIL_IO
#define UBLK_S_DEV_FAIL_IO 3
#endif

namespace isergw::ublk {

static_assert(sizeof(ublksrv_ctrl_cmd) == 32, "ublksrv_ctrl_cmd is 32 bytes in the ABI");
static_assert(sizeof(ublksrv_ctrl_dev_info) == 64, "ublksrv_ctrl_dev_info is 64 bytes");
static_assert(sizeof(ublksrv_io_desc) == 24, "ublksrv_io_desc is 24 bytes");
static_assert(sizeof(ublksrv_io_cmd) == 16, "ublksrv_io_cmd is 16 bytes (fits a 64-byte SQE)");

// The control commands isergw sends, by their legacy number (the ioctl
// number's NR field is the same).
enum class ControlCommand : uint8_t {
  kGetDevInfo = UBLK_CMD_GET_DEV_INFO,
  kAddDev = UBLK_CMD_ADD_DEV,
  kDelDev = UBLK_CMD_DEL_DEV,
  kStartDev = UBLK_CMD_START_DEV,
  kStopDev = UBLK_CMD_STOP_DEV,
  kSetParams = UBLK_CMD_SET_PARAMS,
  kGetParams = UBLK_CMD_GET_PARAMS,
  kStartUserRecovery = UBLK_CMD_START_USER_RECOVERY,
  kEndUserRecovery = UBLK_CMD_END_USER_RECOVERY,
  kGetFeatures = UBLK_CMD_GET_FEATURES,
  // UBLK_U_CMD_DEL_DEV_ASYNC (6.9+; ioctl encoding only): deletes without
  // waiting for the block device's last opener.
  kDelDevAsync = 0x14,
};

// How opcodes are spelled to the driver: the ioctl encoding (_IOR/_IOWR on
// 'u', kernels since 6.4) or the bare legacy number (kernels built with
// CONFIG_BLKDEV_UBLK_LEGACY_OPCODES, and every kernel before 6.4).
enum class OpcodeEncoding : uint8_t { kIoctl, kLegacy };

// The cmd_op of a control command in the given encoding. GET_* commands are
// _IOR, the others _IOWR, all sized by struct ublksrv_ctrl_cmd.
uint32_t ControlOpcode(ControlCommand command, OpcodeEncoding encoding);

// The cmd_op of the per-tag I/O commands (_IOWR sized by ublksrv_io_cmd).
enum class IoCommand : uint8_t {
  kFetchReq = UBLK_IO_FETCH_REQ,
  kCommitAndFetchReq = UBLK_IO_COMMIT_AND_FETCH_REQ,
};
uint32_t IoOpcode(IoCommand command, OpcodeEncoding encoding);

// Lower-case name for messages ("add_dev").
const char* ControlCommandName(ControlCommand command);

// Name of a UBLK_S_DEV_* state for messages ("live", "quiesced").
const char* DeviceStateName(uint16_t state);

// Size of one queue's descriptor area in /dev/ublkcN: the descriptors of
// `queue_depth` tags rounded up to whole pages (the mapping's length).
uint64_t DescriptorAreaBytes(uint32_t queue_depth, uint32_t page_size);

// Where queue `queue_id`'s descriptors are in /dev/ublkcN: the driver spaces
// the queues by the area of the largest possible depth (UBLK_MAX_QUEUE_DEPTH),
// whatever the device's depth is.
uint64_t DescriptorAreaOffset(uint16_t queue_id, uint32_t page_size);

}  // namespace isergw::ublk

#endif  // UBLK_UAPI_H_
