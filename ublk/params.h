// Checking what the user and the backend asked for, and turning it into the
// driver's structures (ublksrv_ctrl_dev_info for ADD_DEV, ublk_params for
// SET_PARAMS). Pure functions: everything here is tested without a kernel.
#ifndef UBLK_PARAMS_H_
#define UBLK_PARAMS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "ublk/backend.h"
#include "ublk/uapi.h"

namespace isergw::ublk {

inline constexpr uint32_t kMaxQueueDepth = UBLK_MAX_QUEUE_DEPTH;  // 4096
inline constexpr uint32_t kMaxQueues = 4096;                      // UBLK_MAX_NR_QUEUES
// Largest per-tag buffer the driver addresses (UBLK_IO_BUF_BITS = 25).
inline constexpr uint32_t kMaxIoBufBytes = 32u << 20;

struct DeviceOptions {
  uint16_t queues = 1;
  uint16_t depth = 128;
};

// Checks the queue count and depth. `max_queues` is what this machine allows
// (the driver clamps the queue count to the number of possible CPUs).
absl::Status ValidateOptions(const DeviceOptions& options, uint32_t max_queues);

// Checks a backend's geometry: non-zero capacity in whole logical blocks,
// block sizes powers of two within the driver's range, sane limits.
absl::Status ValidateGeometry(const Geometry& geometry);

// The number of queues the driver will accept here: possible CPUs.
uint32_t MaxQueuesOnThisMachine();

// The ADD_DEV flags for the features the driver reported: always user
// recovery, plus reissue of in-flight I/O where the driver has it.
// `features_known` is false on kernels without GET_FEATURES (6.1-6.4), which
// all have USER_RECOVERY and USER_RECOVERY_REISSUE (both 6.1).
uint64_t ChooseDeviceFlags(uint64_t features, bool features_known);

// The ADD_DEV payload (dev_id -1: the driver picks the number).
ublksrv_ctrl_dev_info BuildDeviceInfo(const DeviceOptions& options, const Geometry& geometry,
                                      uint64_t flags);

// The SET_PARAMS payload. `max_io_buf_bytes` is the per-tag buffer size the
// driver settled on in ADD_DEV (max_sectors may not exceed it).
ublk_params BuildParams(const Geometry& geometry, uint32_t max_io_buf_bytes);

// log2 of a power of two.
uint8_t Log2(uint32_t power_of_two);

}  // namespace isergw::ublk

#endif  // UBLK_PARAMS_H_
