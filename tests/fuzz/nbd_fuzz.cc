// libFuzzer target for the NBD server's parsers: the handshake state
// machine, then (once it reaches transmission) request headers and their
// checks. Byte 0 picks how the stream is cut into reads (the handshake must
// give the same result however it is fed); the rest is the client's stream.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "nbd/codec.h"
#include "nbd/handshake.h"
#include "nbd/protocol.h"
#include "nbd/request.h"

namespace {

using namespace isergw::nbd;  // NOLINT(build/namespaces): fuzz harness

ExportInfo Export() {
  ExportInfo info;
  info.name = "vol";
  info.description = "fuzz";
  info.size = 1 << 20;
  info.transmission_flags = kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendTrim |
                            kTxSendWriteZeroes | kTxSendCache | kTxCanMultiConn;
  info.min_block = 512;
  info.preferred_block = 4096;
  info.max_block = 65536;
  return info;
}

// Feeds `stream` in pieces of at most `piece` bytes, as recv() would.
// Returns the bytes consumed; `out` gets the replies.
size_t Feed(Handshake& hs, const uint8_t* stream, size_t size, size_t piece, std::string* out) {
  size_t available = 0;
  size_t consumed = 0;
  while (!hs.done() && available < size) {
    available = available + piece < size ? available + piece : size;
    const size_t used = hs.Consume({stream + consumed, available - consumed}, out);
    if (used > available - consumed) __builtin_trap();  // consumed more than it was given
    consumed += used;
  }
  return consumed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t piece = 1 + data[0] % 64;
  const uint8_t* stream = data + 1;
  size -= 1;
  static const ExportInfo info = Export();

  Handshake whole(&info);
  std::string whole_out;
  whole.Start(&whole_out);
  const size_t whole_used = whole.Consume({stream, size}, &whole_out);
  if (whole_used > size) __builtin_trap();

  Handshake pieces(&info);
  std::string pieces_out;
  pieces.Start(&pieces_out);
  const size_t pieces_used = Feed(pieces, stream, size, piece, &pieces_out);
  if (pieces.state() != whole.state() || pieces_out != whole_out) __builtin_trap();
  if (whole.done() && pieces_used != whole_used) __builtin_trap();

  // The server's mode: choosing the export waits for the server, which
  // refuses (a GO may then be followed by more options) or confirms. It
  // must never consume more than it is given, and a confirmed handshake
  // ends exactly where the plain one did.
  Handshake confirming(&info, /*confirm_export=*/true);
  std::string confirm_out;
  confirming.Start(&confirm_out);
  const bool refuse_first = (data[0] & 0x80) != 0;
  bool refused = false;
  size_t confirm_used = 0;
  for (;;) {
    const size_t used =
        confirming.Consume({stream + confirm_used, size - confirm_used}, &confirm_out);
    if (used > size - confirm_used) __builtin_trap();
    confirm_used += used;
    if (confirming.state() != Handshake::State::kExportChosen) break;
    if (refuse_first && !refused) {
      refused = true;
      confirming.RefuseExport(absl::UnavailableError("fuzz"), &confirm_out);
    } else {
      confirming.ConfirmExport(&confirm_out);
    }
  }
  if (!refuse_first && whole.done() &&
      (confirming.state() != whole.state() || confirm_used != whole_used ||
       confirm_out != whole_out)) {
    __builtin_trap();
  }

  if (whole.state() != Handshake::State::kTransmission) return 0;

  ExportLimits limits;
  limits.size = info.size;
  limits.min_block = info.min_block;
  limits.max_block = info.max_block;
  limits.transmission_flags = info.transmission_flags;
  limits.structured_replies = whole.structured_replies();
  size_t at = whole_used;
  while (size - at >= kRequestHeaderBytes) {
    auto header = DecodeRequestHeader({stream + at, size - at});
    if (!header.ok()) break;
    at += kRequestHeaderBytes;
    const RequestVerdict verdict = CheckRequest(*header, limits);
    switch (verdict.action) {
      case RequestAction::kRead:
      case RequestAction::kWrite:
      case RequestAction::kTrim:
      case RequestAction::kWriteZeroes:
      case RequestAction::kCache:
        // Whatever reaches the backend lies inside the export and is aligned.
        if (header->offset > limits.size || header->length > limits.size - header->offset ||
            header->length == 0 || header->offset % limits.min_block != 0 ||
            header->length % limits.min_block != 0) {
          __builtin_trap();
        }
        if ((verdict.action == RequestAction::kRead || verdict.action == RequestAction::kWrite) &&
            header->length > limits.max_block) {
          __builtin_trap();
        }
        break;
      case RequestAction::kDropClient:
      case RequestAction::kDisconnect:
        return 0;
      default:
        break;
    }
    if (verdict.payload_bytes > limits.max_block) __builtin_trap();
    if (verdict.payload_bytes > size - at) break;
    at += verdict.payload_bytes;
  }
  return 0;
}
