#include "iser_client/login/text_params.h"

#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace isergw::iscsi {
namespace {

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '+' || c == '@' || c == '_';
}

// Keys are printed in errors; keep hostile bytes out of logs.
std::string Printable(absl::string_view s, size_t limit = 64) {
  std::string out;
  for (char c : s.substr(0, limit)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (s.size() > limit) out += "...";
  return out;
}

}  // namespace

size_t MaxValueLength(absl::string_view key) {
  if (key == "CHAP_C" || key == "CHAP_R") return kMaxLargeValueLength;
  return kMaxSimpleValueLength;
}

bool IsValidKeyName(absl::string_view key) {
  if (key.empty() || key.size() > kMaxKeyNameLength) return false;
  for (char c : key) {
    if (!IsKeyChar(c)) return false;
  }
  return true;
}

absl::StatusOr<TextPairs> ParseText(absl::string_view data, const TextParseOptions& options) {
  TextPairs pairs;
  absl::flat_hash_set<std::string> seen;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t end = data.find('\0', pos);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("text: pair at offset %u is not NUL-terminated ('%s')", pos,
                          Printable(data.substr(pos))));
    }
    const absl::string_view item = data.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;  // padding or a stray delimiter
    const size_t eq = item.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrFormat("text: '%s' has no '=' (offset %u)", Printable(item), end - item.size()));
    }
    const absl::string_view key = item.substr(0, eq);
    const absl::string_view value = item.substr(eq + 1);
    if (!IsValidKeyName(key)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("text: invalid key name '%s' (1..%u of letters, digits, . - + @ _)",
                          Printable(key), kMaxKeyNameLength));
    }
    if (value.size() > MaxValueLength(key)) {
      return absl::InvalidArgumentError(absl::StrFormat("text: value of %s is %u bytes, max %u",
                                                        key, value.size(), MaxValueLength(key)));
    }
    if (options.reject_duplicate_keys && !seen.insert(std::string(key)).second) {
      return absl::InvalidArgumentError(absl::StrCat("text: key ", key, " sent twice"));
    }
    pairs.push_back(TextPair{std::string(key), std::string(value)});
  }
  return pairs;
}

absl::StatusOr<TextPairs> ParseText(std::span<const uint8_t> data,
                                    const TextParseOptions& options) {
  return ParseText(absl::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                   options);
}

void AppendPair(std::string& out, absl::string_view key, absl::string_view value) {
  out.append(key.data(), key.size());
  out.push_back('=');
  out.append(value.data(), value.size());
  out.push_back('\0');
}

std::string SerializeText(const TextPairs& pairs) {
  std::string out;
  for (const TextPair& p : pairs) AppendPair(out, p.key, p.value);
  return out;
}

const std::string* FindValue(const TextPairs& pairs, absl::string_view key) {
  for (const TextPair& p : pairs) {
    if (p.key == key) return &p.value;
  }
  return nullptr;
}

absl::Status TextAccumulator::Append(absl::string_view segment) {
  if (segment.size() > cap_ || data_.size() > cap_ - segment.size()) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("text: continued text exceeds %u bytes (have %u, +%u)", cap_, data_.size(),
                        segment.size()));
  }
  data_.append(segment.data(), segment.size());
  return absl::OkStatus();
}

absl::Status TextAccumulator::Append(std::span<const uint8_t> segment) {
  return Append(absl::string_view(reinterpret_cast<const char*>(segment.data()), segment.size()));
}

std::string TextAccumulator::Take() {
  std::string out = std::move(data_);
  data_.clear();
  return out;
}

}  // namespace isergw::iscsi
