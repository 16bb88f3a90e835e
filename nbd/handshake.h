// The server side of NBD's fixed newstyle handshake as a pure state machine:
// bytes in, bytes out, no sockets. The connection feeds it what it received
// and sends what it produced; tests and the fuzz target drive it directly.
//
// Supported: EXPORT_NAME, GO and INFO (export size and flags, block size
// constraints, name, description), LIST, STRUCTURED_REPLY, ABORT. STARTTLS
// and meta contexts are answered NBD_REP_ERR_UNSUP (the client may carry on
// without them); unknown options likewise. Option payloads larger than
// kMaxOptionBytes are skipped and answered NBD_REP_ERR_TOO_BIG.
//
// With `confirm_export`, choosing the export (GO, EXPORT_NAME) stops in
// kExportChosen before the final reply, so the server can open what the
// export needs (an iSCSI session) only for a client that really uses it,
// and refuse the GO cleanly if that fails. LIST and INFO never get there.
#ifndef NBD_HANDSHAKE_H_
#define NBD_HANDSHAKE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace isergw::nbd {

// The one volume a server exports, as the handshake presents it.
struct ExportInfo {
  std::string name;         // what clients ask for; "" (the default export) also selects it
  std::string description;  // NBD_INFO_DESCRIPTION, optional
  uint64_t size = 0;
  // Transmission flags except kTxSendDf, which is added when structured
  // replies were negotiated.
  uint16_t transmission_flags = 0;
  uint32_t min_block = 1;
  uint32_t preferred_block = 4096;
  uint32_t max_block = 0;
};

class Handshake {
 public:
  enum class State {
    kClientFlags,   // waiting for the client's 4 flag bytes
    kOptionHeader,  // waiting for IHAVEOPT, option, length
    kOptionData,    // waiting for the whole payload of the current option
    kSkipOption,    // discarding an oversized payload
    kExportChosen,  // GO / EXPORT_NAME accepted; waits for ConfirmExport or RefuseExport
    kTransmission,  // done: requests follow
    kClosed,        // done: close the connection (see close_reason())
  };

  explicit Handshake(const ExportInfo* export_info, bool confirm_export = false)
      : export_(export_info), confirm_export_(confirm_export) {}

  // Appends the server's greeting (NBDMAGIC, IHAVEOPT, handshake flags).
  void Start(std::string* out);

  // Consumes what it can of `in`, appends replies to `out`, and returns the
  // number of bytes consumed. Bytes after the end of the handshake are not
  // consumed: they are the first requests. Never reads past `in`.
  size_t Consume(absl::Span<const uint8_t> in, std::string* out);

  State state() const { return state_; }
  bool done() const { return state_ == State::kTransmission || state_ == State::kClosed; }
  bool structured_replies() const { return structured_; }
  // Why the handshake ended in kClosed: OK for a client's ABORT, otherwise a
  // protocol error naming what was wrong.
  const absl::Status& close_reason() const { return close_reason_; }
  // In kExportChosen: the final reply to GO (ACK) or EXPORT_NAME (size and
  // flags); then kTransmission.
  void ConfirmExport(std::string* out);
  // In kExportChosen: the export cannot be served (`why`). GO gets
  // NBD_REP_ERR_SHUTDOWN with the reason and the client may go on with
  // options (or ABORT); EXPORT_NAME, which has no error reply, closes.
  void RefuseExport(const absl::Status& why, std::string* out);

  // Number of bytes the current state needs before it can progress.
  size_t bytes_wanted() const;

 private:
  void HandleOption(absl::Span<const uint8_t> data, std::string* out);
  void HandleInfoOrGo(absl::Span<const uint8_t> data, std::string* out);
  void Reply(uint32_t reply_type, absl::Span<const uint8_t> payload, std::string* out);
  void ReplyError(uint32_t reply_type, const std::string& message, std::string* out);
  void Close(absl::Status why);
  uint16_t TransmissionFlags() const;
  bool NameMatches(absl::Span<const uint8_t> name) const;

  void SendExportNameReply(std::string* out);

  const ExportInfo* export_;
  bool confirm_export_ = false;
  State state_ = State::kClientFlags;
  bool no_zeroes_ = false;
  bool structured_ = false;
  uint32_t option_ = 0;
  uint32_t option_length_ = 0;
  uint32_t skip_left_ = 0;
  absl::Status close_reason_;
};

}  // namespace isergw::nbd

#endif  // NBD_HANDSHAKE_H_
