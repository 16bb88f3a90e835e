#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

std::string_view OpcodeName(Opcode opcode) {
  switch (opcode) {
    case Opcode::kNopOut:
      return "NOP-Out";
    case Opcode::kScsiCommand:
      return "SCSI-Command";
    case Opcode::kTaskMgmtRequest:
      return "Task-Mgmt-Request";
    case Opcode::kLoginRequest:
      return "Login-Request";
    case Opcode::kTextRequest:
      return "Text-Request";
    case Opcode::kDataOut:
      return "SCSI-Data-Out";
    case Opcode::kLogoutRequest:
      return "Logout-Request";
    case Opcode::kSnack:
      return "SNACK";
    case Opcode::kNopIn:
      return "NOP-In";
    case Opcode::kScsiResponse:
      return "SCSI-Response";
    case Opcode::kTaskMgmtResponse:
      return "Task-Mgmt-Response";
    case Opcode::kLoginResponse:
      return "Login-Response";
    case Opcode::kTextResponse:
      return "Text-Response";
    case Opcode::kDataIn:
      return "SCSI-Data-In";
    case Opcode::kLogoutResponse:
      return "Logout-Response";
    case Opcode::kR2t:
      return "R2T";
    case Opcode::kAsyncMessage:
      return "Async-Message";
    case Opcode::kReject:
      return "Reject";
  }
  return "Unknown";
}

}  // namespace isergw::iscsi
