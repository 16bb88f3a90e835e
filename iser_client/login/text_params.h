// Login/Text data segments: "key=value\0key=value\0..." (RFC 7143 section 6.1).
#ifndef ISER_CLIENT_LOGIN_TEXT_PARAMS_H_
#define ISER_CLIENT_LOGIN_TEXT_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace isergw::iscsi {

// RFC 7143 6.1: key names are at most 63 bytes.
inline constexpr size_t kMaxKeyNameLength = 63;
// RFC 7143 6.1: a simple value is at most 255 bytes unless stated otherwise.
inline constexpr size_t kMaxSimpleValueLength = 255;
// CHAP_C/CHAP_R are large-binary-values of at most 1024 bytes (RFC 7143 12.1.3);
// their hex encoding ("0x" + 2048 digits) fits in 8192, the pair size every
// implementation must accept (RFC 7143 6.1).
inline constexpr size_t kMaxLargeValueLength = 8192;
// Cap on a text joined from several PDUs (C bit), against a hostile target.
inline constexpr size_t kDefaultTextAccumulatorCap = 64 * 1024;

struct TextPair {
  std::string key;
  std::string value;
  bool operator==(const TextPair&) const = default;
};
using TextPairs = std::vector<TextPair>;

struct TextParseOptions {
  // RFC 7143 6.2: a key must not be sent twice in one negotiation. SendTargets
  // answers legitimately repeat TargetName/TargetAddress, so they turn this off.
  bool reject_duplicate_keys = true;
};

// The longest value `key` may carry (255, or 8192 for CHAP_C/CHAP_R).
size_t MaxValueLength(absl::string_view key);

// True if `key` is a legal key name: 1..63 of [A-Za-z0-9.+@_-].
bool IsValidKeyName(absl::string_view key);

// Parses a complete text (every pair NUL-terminated). Empty strings between
// NULs (padding) are skipped. Errors name the offending key or offset.
absl::StatusOr<TextPairs> ParseText(std::span<const uint8_t> data,
                                    const TextParseOptions& options = {});
absl::StatusOr<TextPairs> ParseText(absl::string_view data, const TextParseOptions& options = {});

// "k=v\0k=v\0". Does not validate; callers build pairs from known keys.
std::string SerializeText(const TextPairs& pairs);
void AppendPair(std::string& out, absl::string_view key, absl::string_view value);

// The value of the first pair named `key`, or nullptr.
const std::string* FindValue(const TextPairs& pairs, absl::string_view key);

// Joins the data segments of a text split over several PDUs (C bit).
class TextAccumulator {
 public:
  explicit TextAccumulator(size_t cap = kDefaultTextAccumulatorCap) : cap_(cap) {}

  // Appends one PDU's data segment; fails (and keeps nothing new) past the cap.
  absl::Status Append(std::span<const uint8_t> segment);
  absl::Status Append(absl::string_view segment);

  size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  absl::string_view data() const { return data_; }
  // Returns the joined text and resets the accumulator.
  std::string Take();
  void Reset() { data_.clear(); }

 private:
  size_t cap_;
  std::string data_;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_TEXT_PARAMS_H_
