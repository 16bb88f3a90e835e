// Helpers shared by the SCSI tests.
#ifndef ISERGW_TESTS_UNIT_SCSI_TEST_BYTES_H_
#define ISERGW_TESTS_UNIT_SCSI_TEST_BYTES_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "iser_client/scsi/cdb.h"

namespace isergw::scsi::testing {

inline std::vector<uint8_t> Bytes(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

inline std::vector<uint8_t> CdbBytes(const Cdb& cdb) { return Bytes(cdb.view()); }

// Appends ASCII text (no terminator) to a byte vector.
inline void AppendAscii(std::vector<uint8_t>& out, std::string_view text) {
  out.insert(out.end(), text.begin(), text.end());
}

}  // namespace isergw::scsi::testing

#endif  // ISERGW_TESTS_UNIT_SCSI_TEST_BYTES_H_
