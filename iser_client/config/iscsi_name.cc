#include "iser_client/config/iscsi_name.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace isergw::iscsi {
namespace {

bool AllHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == ':' ||
         c == '_';
}

absl::Status Invalid(absl::string_view name, absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid ", what, " \"", name, "\": ", why));
}

absl::Status ValidateIqn(absl::string_view name, absl::string_view what) {
  // "iqn." then "YYYY-MM." then at least one domain character.
  absl::string_view rest = name.substr(4);
  if (rest.size() < 9 || rest[4] != '-' || rest[7] != '.') {
    return Invalid(name, what, "an iqn name must look like iqn.YYYY-MM.reversed.domain[:id]");
  }
  for (size_t i : {0, 1, 2, 3, 5, 6}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(rest[i]))) {
      return Invalid(name, what, "the date after \"iqn.\" must be YYYY-MM");
    }
  }
  const int month = (rest[5] - '0') * 10 + (rest[6] - '0');
  if (month < 1 || month > 12) {
    return Invalid(name, what, "the month in the date must be 01..12");
  }
  for (char c : rest.substr(8)) {
    if (!IsNameChar(c)) {
      return Invalid(name, what, "only letters, digits, '-', '.', ':' and '_' may follow the date");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateIscsiName(absl::string_view name, absl::string_view what) {
  if (name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  }
  if (name.size() > kMaxIscsiNameLength) {
    return Invalid(name, what, absl::StrCat("longer than ", kMaxIscsiNameLength, " bytes"));
  }
  if (name.size() < 4) {
    return Invalid(name, what, "must start with iqn., eui. or naa.");
  }
  const std::string prefix = absl::AsciiStrToLower(name.substr(0, 4));
  if (prefix == "iqn.") {
    return ValidateIqn(name, what);
  }
  const absl::string_view digits = name.substr(4);
  if (prefix == "eui.") {
    if (digits.size() != 16 || !AllHex(digits)) {
      return Invalid(name, what, "an eui name must be eui. followed by 16 hex digits");
    }
    return absl::OkStatus();
  }
  if (prefix == "naa.") {
    if ((digits.size() != 16 && digits.size() != 32) || !AllHex(digits)) {
      return Invalid(name, what, "a naa name must be naa. followed by 16 or 32 hex digits");
    }
    return absl::OkStatus();
  }
  return Invalid(name, what, "must start with iqn., eui. or naa.");
}

}  // namespace isergw::iscsi
