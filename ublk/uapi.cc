#include "ublk/uapi.h"

namespace isergw::ublk {

uint32_t ControlOpcode(ControlCommand command, OpcodeEncoding encoding) {
  const uint32_t nr = static_cast<uint32_t>(command);
  if (encoding == OpcodeEncoding::kLegacy) {
    return nr;
  }
  switch (command) {
    case ControlCommand::kGetDevInfo:
    case ControlCommand::kGetParams:
    case ControlCommand::kGetFeatures:
    case ControlCommand::kDelDevAsync:
      return _IOR('u', nr, struct ublksrv_ctrl_cmd);
    default:
      return _IOWR('u', nr, struct ublksrv_ctrl_cmd);
  }
}

uint32_t IoOpcode(IoCommand command, OpcodeEncoding encoding) {
  const uint32_t nr = static_cast<uint32_t>(command);
  if (encoding == OpcodeEncoding::kLegacy) {
    return nr;
  }
  return _IOWR('u', nr, struct ublksrv_io_cmd);
}

const char* ControlCommandName(ControlCommand command) {
  switch (command) {
    case ControlCommand::kGetDevInfo:
      return "get_dev_info";
    case ControlCommand::kAddDev:
      return "add_dev";
    case ControlCommand::kDelDev:
      return "del_dev";
    case ControlCommand::kStartDev:
      return "start_dev";
    case ControlCommand::kStopDev:
      return "stop_dev";
    case ControlCommand::kSetParams:
      return "set_params";
    case ControlCommand::kGetParams:
      return "get_params";
    case ControlCommand::kStartUserRecovery:
      return "start_user_recovery";
    case ControlCommand::kEndUserRecovery:
      return "end_user_recovery";
    case ControlCommand::kGetFeatures:
      return "get_features";
    case ControlCommand::kDelDevAsync:
      return "del_dev_async";
  }
  return "unknown";
}

const char* DeviceStateName(uint16_t state) {
  switch (state) {
    case UBLK_S_DEV_DEAD:
      return "dead";
    case UBLK_S_DEV_LIVE:
      return "live";
    case UBLK_S_DEV_QUIESCED:
      return "quiesced";
    case UBLK_S_DEV_FAIL_IO:
      return "fail_io";
  }
  return "unknown";
}

uint64_t DescriptorAreaBytes(uint32_t queue_depth, uint32_t page_size) {
  const uint64_t bytes = uint64_t{queue_depth} * sizeof(ublksrv_io_desc);
  return (bytes + page_size - 1) / page_size * page_size;
}

uint64_t DescriptorAreaOffset(uint16_t queue_id, uint32_t page_size) {
  return UBLKSRV_CMD_BUF_OFFSET +
         uint64_t{queue_id} * DescriptorAreaBytes(UBLK_MAX_QUEUE_DEPTH, page_size);
}

}  // namespace isergw::ublk
