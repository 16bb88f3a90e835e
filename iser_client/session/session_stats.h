#ifndef ISER_CLIENT_SESSION_SESSION_STATS_H_
#define ISER_CLIENT_SESSION_SESSION_STATS_H_

#include <cstdint>

namespace isergw::iscsi {

// Counters a session keeps for `status` output and tests.
struct SessionStats {
  uint64_t commands = 0;
  uint64_t commands_queued_for_window = 0;
  uint64_t data_out_pdus = 0;
  uint64_t r2ts = 0;
  uint64_t nop_pings = 0;
  uint64_t target_nops_answered = 0;
  uint64_t async_messages = 0;
  uint64_t rejects = 0;
  uint64_t aborts = 0;
  uint64_t lun_resets = 0;
  uint64_t stale_replies = 0;  // replies for tasks already finished
  uint64_t protocol_errors = 0;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_SESSION_SESSION_STATS_H_
