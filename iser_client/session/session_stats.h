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

  // Sums the counters of the sessions one after another (reconnects).
  SessionStats& operator+=(const SessionStats& o) {
    commands += o.commands;
    commands_queued_for_window += o.commands_queued_for_window;
    data_out_pdus += o.data_out_pdus;
    r2ts += o.r2ts;
    nop_pings += o.nop_pings;
    target_nops_answered += o.target_nops_answered;
    async_messages += o.async_messages;
    rejects += o.rejects;
    aborts += o.aborts;
    lun_resets += o.lun_resets;
    stale_replies += o.stale_replies;
    protocol_errors += o.protocol_errors;
    return *this;
  }
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_SESSION_SESSION_STATS_H_
