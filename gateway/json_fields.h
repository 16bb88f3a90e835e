// Reading fields of a JSON object without exceptions: the control socket
// and the state file are input from outside, and a wrong type must be an
// error naming the field, not a thrown nlohmann::json::type_error.
#ifndef GATEWAY_JSON_FIELDS_H_
#define GATEWAY_JSON_FIELDS_H_

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace isergw::gateway {

// Each leaves `out` as it was when `object` has no `key`.
inline absl::Status ReadString(const nlohmann::json& object, const char* key, std::string& out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_string())
    return absl::InvalidArgumentError(absl::StrCat("'", key, "' must be a string"));
  out = it->get_ref<const std::string&>();
  return absl::OkStatus();
}

inline absl::Status ReadBool(const nlohmann::json& object, const char* key, bool& out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_boolean())
    return absl::InvalidArgumentError(absl::StrCat("'", key, "' must be true or false"));
  out = it->get<bool>();
  return absl::OkStatus();
}

template <typename Int>
absl::Status ReadUnsigned(const nlohmann::json& object, const char* key, Int& out) {
  auto it = object.find(key);
  if (it == object.end()) return absl::OkStatus();
  if (!it->is_number_unsigned() || it->get<uint64_t>() > std::numeric_limits<Int>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("'", key, "' must be a whole number from 0 to ",
                                                   std::numeric_limits<Int>::max()));
  }
  out = static_cast<Int>(it->get<uint64_t>());
  return absl::OkStatus();
}

}  // namespace isergw::gateway

#endif  // GATEWAY_JSON_FIELDS_H_
