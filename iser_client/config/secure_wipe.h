// Overwriting secrets before their memory is released, so a CHAP secret does
// not linger in freed heap blocks or core dumps longer than needed.
#ifndef ISER_CLIENT_CONFIG_SECURE_WIPE_H_
#define ISER_CLIENT_CONFIG_SECURE_WIPE_H_

#include <optional>
#include <string>

namespace isergw::iscsi {

// Overwrites the whole buffer of `s` (its capacity, which covers the
// small-string buffer too) with zeros the compiler cannot elide, then clears
// it. Copies made earlier (by reallocation or assignment) are not reached.
void WipeString(std::string& s);

// Wipes and resets an optional secret.
void WipeString(std::optional<std::string>& s);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_SECURE_WIPE_H_
