#include "iser_client/config/secure_wipe.h"

#include <openssl/crypto.h>

namespace isergw::iscsi {

void WipeString(std::string& s) {
  // resize() to the capacity never reallocates, and makes the whole buffer
  // part of the string so writing it through data() is defined.
  s.resize(s.capacity());
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

void WipeString(std::optional<std::string>& s) {
  if (s.has_value()) {
    WipeString(*s);
  }
  s.reset();
}

}  // namespace isergw::iscsi
