// RFC 1982 serial number arithmetic for the 32-bit iSCSI sequence numbers
// (CmdSN, StatSN, DataSN, R2TSN). Two numbers exactly 2^31 apart are
// incomparable per RFC 1982: every ordering predicate returns false for them.
#ifndef ISER_CLIENT_PDU_SERIAL_H_
#define ISER_CLIENT_PDU_SERIAL_H_

#include <cstdint>

namespace isergw::iscsi {

// a < b in serial arithmetic.
constexpr bool SerialLt(uint32_t a, uint32_t b) {
  return a != b && static_cast<uint32_t>(b - a) < 0x80000000u;
}
constexpr bool SerialGt(uint32_t a, uint32_t b) { return SerialLt(b, a); }
constexpr bool SerialLe(uint32_t a, uint32_t b) { return a == b || SerialLt(a, b); }
constexpr bool SerialGe(uint32_t a, uint32_t b) { return a == b || SerialGt(a, b); }

// lo <= sn <= hi in serial arithmetic.
constexpr bool SerialInWindow(uint32_t sn, uint32_t lo, uint32_t hi) {
  return SerialLe(lo, sn) && SerialLe(sn, hi);
}

// RFC 7143 4.2.2.1: MaxCmdSN == ExpCmdSN - 1 signals a closed (zero) window.
constexpr bool CmdSnWindowClosed(uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  return max_cmd_sn == exp_cmd_sn - 1;
}

// RFC 7143 4.2.2.1: a response with MaxCmdSN < ExpCmdSN - 1 carries an
// invalid window; the initiator must ignore both values.
constexpr bool CmdSnWindowValid(uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  return SerialGe(max_cmd_sn, exp_cmd_sn - 1);
}

// Number of CmdSNs the target accepts now (0 when closed or invalid).
constexpr uint32_t CmdSnWindowSize(uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  return CmdSnWindowValid(exp_cmd_sn, max_cmd_sn) ? max_cmd_sn - exp_cmd_sn + 1 : 0;
}

// A non-immediate command with `cmd_sn` may be sent iff
// ExpCmdSN <= CmdSN <= MaxCmdSN (false for a closed window).
constexpr bool CmdSnInWindow(uint32_t cmd_sn, uint32_t exp_cmd_sn, uint32_t max_cmd_sn) {
  return CmdSnWindowValid(exp_cmd_sn, max_cmd_sn) && SerialInWindow(cmd_sn, exp_cmd_sn, max_cmd_sn);
}

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_PDU_SERIAL_H_
