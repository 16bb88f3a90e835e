#include "nbd/handshake.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nbd/codec.h"
#include "nbd/protocol.h"

namespace isergw::nbd {
namespace {

void AppendBytes(std::string* out, const uint8_t* p, size_t n) {
  out->append(reinterpret_cast<const char*>(p), n);
}

}  // namespace

void Handshake::Start(std::string* out) {
  uint8_t greeting[18];
  PutBe64(greeting, kNbdMagic);
  PutBe64(greeting + 8, kIHaveOpt);
  PutBe16(greeting + 16, kFlagFixedNewstyle | kFlagNoZeroes);
  AppendBytes(out, greeting, sizeof(greeting));
}

size_t Handshake::bytes_wanted() const {
  switch (state_) {
    case State::kClientFlags:
      return 4;
    case State::kOptionHeader:
      return 16;
    case State::kOptionData:
      return option_length_;
    case State::kSkipOption:
      return skip_left_ > 0 ? 1 : 0;
    default:
      return 0;
  }
}

size_t Handshake::Consume(absl::Span<const uint8_t> in, std::string* out) {
  size_t used = 0;
  while (!done()) {
    const size_t left = in.size() - used;
    const uint8_t* p = in.data() + used;
    switch (state_) {
      case State::kClientFlags: {
        if (left < 4) {
          return used;
        }
        const uint32_t flags = GetBe32(p);
        used += 4;
        if ((flags & kClientFlagFixedNewstyle) == 0) {
          Close(absl::InvalidArgumentError(
              "NBD client does not support the fixed newstyle handshake"));
        } else if ((flags & ~(kClientFlagFixedNewstyle | kClientFlagNoZeroes)) != 0) {
          Close(absl::InvalidArgumentError(
              absl::StrFormat("NBD client sent unknown handshake flags 0x%x", flags)));
        } else {
          no_zeroes_ = (flags & kClientFlagNoZeroes) != 0;
          state_ = State::kOptionHeader;
        }
        break;
      }
      case State::kOptionHeader: {
        if (left < 16) {
          return used;
        }
        const uint64_t magic = GetBe64(p);
        option_ = GetBe32(p + 8);
        option_length_ = GetBe32(p + 12);
        used += 16;
        if (magic != kIHaveOpt) {
          Close(absl::InvalidArgumentError(absl::StrFormat("bad NBD option magic 0x%016x", magic)));
        } else if (option_length_ > kMaxOptionBytes) {
          ReplyError(kRepErrTooBig,
                     absl::StrCat("option payload of ", option_length_, " bytes is too big"), out);
          skip_left_ = option_length_;
          state_ = State::kSkipOption;
        } else {
          state_ = State::kOptionData;
        }
        break;
      }
      case State::kOptionData: {
        if (left < option_length_) {
          return used;
        }
        used += option_length_;
        state_ = State::kOptionHeader;
        HandleOption(absl::MakeConstSpan(p, option_length_), out);
        break;
      }
      case State::kSkipOption: {
        if (left == 0) {
          return used;
        }
        const size_t n = left < skip_left_ ? left : skip_left_;
        used += n;
        skip_left_ -= static_cast<uint32_t>(n);
        if (skip_left_ == 0) {
          state_ = State::kOptionHeader;
        }
        break;
      }
      default:
        return used;
    }
  }
  return used;
}

void Handshake::Close(absl::Status why) {
  close_reason_ = std::move(why);
  state_ = State::kClosed;
}

uint16_t Handshake::TransmissionFlags() const {
  uint16_t flags = export_->transmission_flags | kTxHasFlags;
  if (structured_) {
    flags |= kTxSendDf;
  }
  return flags;
}

bool Handshake::NameMatches(absl::Span<const uint8_t> name) const {
  if (name.empty()) {
    return true;  // the default export
  }
  return name.size() == export_->name.size() &&
         std::memcmp(name.data(), export_->name.data(), name.size()) == 0;
}

void Handshake::Reply(uint32_t reply_type, absl::Span<const uint8_t> payload, std::string* out) {
  uint8_t header[kOptionReplyHeaderBytes];
  EncodeOptionReplyHeader(option_, reply_type, static_cast<uint32_t>(payload.size()), header);
  AppendBytes(out, header, sizeof(header));
  AppendBytes(out, payload.data(), payload.size());
}

void Handshake::ReplyError(uint32_t reply_type, const std::string& message, std::string* out) {
  Reply(reply_type,
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(message.data()), message.size()), out);
}

void Handshake::HandleOption(absl::Span<const uint8_t> data, std::string* out) {
  switch (option_) {
    case kOptExportName: {
      if (!NameMatches(data)) {
        // EXPORT_NAME has no error reply: the spec says to close.
        Close(absl::NotFoundError(absl::StrCat(
            "NBD client asked for unknown export '",
            absl::string_view(reinterpret_cast<const char*>(data.data()), data.size()), "'")));
        return;
      }
      if (confirm_export_) {
        state_ = State::kExportChosen;
        return;
      }
      SendExportNameReply(out);
      state_ = State::kTransmission;
      return;
    }
    case kOptAbort:
      Reply(kRepAck, {}, out);
      Close(absl::OkStatus());
      return;
    case kOptList: {
      if (!data.empty()) {
        ReplyError(kRepErrInvalid, "LIST takes no data", out);
        return;
      }
      std::string payload(4, '\0');
      PutBe32(reinterpret_cast<uint8_t*>(payload.data()),
              static_cast<uint32_t>(export_->name.size()));
      payload += export_->name;
      Reply(kRepServer,
            absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
            out);
      Reply(kRepAck, {}, out);
      return;
    }
    case kOptStartTls:
      if (!data.empty()) {
        ReplyError(kRepErrInvalid, "STARTTLS takes no data", out);
        return;
      }
      ReplyError(kRepErrUnsup, "this server does not offer TLS", out);
      return;
    case kOptInfo:
    case kOptGo:
      HandleInfoOrGo(data, out);
      return;
    case kOptStructuredReply:
      if (!data.empty()) {
        ReplyError(kRepErrInvalid, "STRUCTURED_REPLY takes no data", out);
        return;
      }
      structured_ = true;
      Reply(kRepAck, {}, out);
      return;
    default:
      ReplyError(kRepErrUnsup,
                 absl::StrCat("option ", option_, " (", OptionName(option_), ") is not supported"),
                 out);
      return;
  }
}

void Handshake::HandleInfoOrGo(absl::Span<const uint8_t> data, std::string* out) {
  // u32 name length, name, u16 count, count x u16 info types.
  if (data.size() < 6) {
    ReplyError(kRepErrInvalid, "INFO/GO payload is too short", out);
    return;
  }
  const uint32_t name_length = GetBe32(data.data());
  if (name_length > kMaxNameBytes || name_length > data.size() - 6) {
    ReplyError(kRepErrInvalid, "INFO/GO export name length is out of range", out);
    return;
  }
  const absl::Span<const uint8_t> name = data.subspan(4, name_length);
  const uint16_t count = GetBe16(data.data() + 4 + name_length);
  if (data.size() != 6 + name_length + size_t{count} * 2) {
    ReplyError(kRepErrInvalid, "INFO/GO payload length does not match its request count", out);
    return;
  }
  if (!NameMatches(name)) {
    ReplyError(kRepErrUnknown,
               absl::StrCat(
                   "unknown export '",
                   absl::string_view(reinterpret_cast<const char*>(name.data()), name.size()), "'"),
               out);
    return;
  }
  bool want_name = false;
  bool want_description = false;
  for (uint16_t i = 0; i < count; ++i) {
    const uint16_t type = GetBe16(data.data() + 6 + name_length + size_t{2} * i);
    if (type == kInfoName) {
      want_name = true;
    }
    if (type == kInfoDescription) {
      want_description = true;
    }
  }

  uint8_t export_info[12];
  PutBe16(export_info, kInfoExport);
  PutBe64(export_info + 2, export_->size);
  PutBe16(export_info + 10, TransmissionFlags());
  Reply(kRepInfo, export_info, out);

  // Sent whether asked for or not: clients that did not ask still learn the
  // limits, and those that did (libnbd, qemu, the kernel) honour them.
  uint8_t block_size[14];
  PutBe16(block_size, kInfoBlockSize);
  PutBe32(block_size + 2, export_->min_block);
  PutBe32(block_size + 6, export_->preferred_block);
  PutBe32(block_size + 10, export_->max_block);
  Reply(kRepInfo, block_size, out);

  auto send_text = [&](uint16_t type, const std::string& text) {
    std::string payload(2, '\0');
    PutBe16(reinterpret_cast<uint8_t*>(payload.data()), type);
    payload += text;
    Reply(kRepInfo,
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
          out);
  };
  if (want_name) {
    send_text(kInfoName, export_->name);
  }
  if (want_description && !export_->description.empty()) {
    send_text(kInfoDescription, export_->description);
  }
  if (option_ == kOptGo && confirm_export_) {
    state_ = State::kExportChosen;  // the ACK waits for ConfirmExport
    return;
  }
  Reply(kRepAck, {}, out);
  if (option_ == kOptGo) {
    state_ = State::kTransmission;
  }
}

void Handshake::SendExportNameReply(std::string* out) {
  uint8_t reply[10 + 124] = {};
  PutBe64(reply, export_->size);
  PutBe16(reply + 8, TransmissionFlags());
  AppendBytes(out, reply, no_zeroes_ ? 10 : sizeof(reply));
}

void Handshake::ConfirmExport(std::string* out) {
  if (state_ != State::kExportChosen) {
    return;
  }
  if (option_ == kOptExportName) {
    SendExportNameReply(out);
  } else {
    Reply(kRepAck, {}, out);
  }
  state_ = State::kTransmission;
}

void Handshake::RefuseExport(const absl::Status& why, std::string* out) {
  if (state_ != State::kExportChosen) {
    return;
  }
  if (option_ == kOptExportName) {
    Close(why);
    return;
  }
  ReplyError(kRepErrShutdown, absl::StrCat("the export cannot be served now: ", why.message()),
             out);
  state_ = State::kOptionHeader;
}

}  // namespace isergw::nbd
