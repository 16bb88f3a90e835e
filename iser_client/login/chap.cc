#include "iser_client/login/chap.h"

#include <glog/logging.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace isergw::iscsi {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// CHAP_I is a number 0..255, decimal or 0x-hex.
absl::StatusOr<uint8_t> ParseIdentifier(absl::string_view s) {
  uint32_t v = 0;
  bool ok = false;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    ok = s.size() <= 4;
    for (char c : s.substr(2)) {
      const int d = HexDigit(c);
      if (d < 0) ok = false;
      v = v * 16 + (d < 0 ? 0 : d);
    }
  } else {
    ok = !s.empty() && s.size() <= 3 &&
         s.find_first_not_of("0123456789") == absl::string_view::npos && absl::SimpleAtoi(s, &v);
  }
  if (!ok || v > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("CHAP_I=", s.substr(0, 16), ": not an identifier 0..255"));
  }
  return static_cast<uint8_t>(v);
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> DecodeChapBinary(absl::string_view value) {
  if (value.size() < 3 || value[0] != '0') {
    return absl::InvalidArgumentError("CHAP binary value: expected 0x<hex> or 0b<base64>");
  }
  const absl::string_view body = value.substr(2);
  std::vector<uint8_t> out;
  if (value[1] == 'x' || value[1] == 'X') {
    // An odd digit count means a leading zero nibble was dropped.
    const size_t n = (body.size() + 1) / 2;
    if (n > kChapMaxBinaryLength) {
      return absl::InvalidArgumentError(
          absl::StrFormat("CHAP binary value: %u bytes, max %u", n, kChapMaxBinaryLength));
    }
    out.reserve(n);
    size_t i = 0;
    if (body.size() % 2 == 1) {
      const int d = HexDigit(body[0]);
      if (d < 0) return absl::InvalidArgumentError("CHAP binary value: bad hex digit");
      out.push_back(static_cast<uint8_t>(d));
      i = 1;
    }
    for (; i < body.size(); i += 2) {  // an even count remains
      const int hi = HexDigit(body[i]);
      const int lo = HexDigit(body[i + 1]);
      if (hi < 0 || lo < 0) return absl::InvalidArgumentError("CHAP binary value: bad hex digit");
      out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return out;
  }
  if (value[1] == 'b' || value[1] == 'B') {
    if (body.size() > (kChapMaxBinaryLength + 2) / 3 * 4) {
      return absl::InvalidArgumentError("CHAP binary value: base64 too long");
    }
    for (char c : body) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '+' || c == '/' || c == '=';
      if (!ok) return absl::InvalidArgumentError("CHAP binary value: bad base64 character");
    }
    std::string decoded;
    if (!absl::Base64Unescape(body, &decoded) || decoded.empty()) {
      return absl::InvalidArgumentError("CHAP binary value: bad base64");
    }
    return std::vector<uint8_t>(decoded.begin(), decoded.end());
  }
  return absl::InvalidArgumentError("CHAP binary value: expected 0x<hex> or 0b<base64>");
}

std::string EncodeChapHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  out.reserve(2 + bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

absl::StatusOr<std::array<uint8_t, kChapMd5Length>> ChapMd5Response(
    uint8_t identifier, absl::string_view secret, std::span<const uint8_t> challenge) {
  std::array<uint8_t, kChapMd5Length> digest{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("CHAP: EVP_MD_CTX_new failed");
  unsigned int len = 0;
  const bool ok = EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, &identifier, 1) == 1 &&
                  EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
                  EVP_DigestUpdate(ctx, challenge.data(), challenge.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1 && len == digest.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::InternalError("CHAP: MD5 unavailable in libcrypto");
  return digest;
}

absl::StatusOr<ChapInitiator> ChapInitiator::Create(ChapCredentials credentials) {
  if (credentials.user.empty()) return absl::InvalidArgumentError("CHAP: empty user name");
  if (credentials.secret.empty()) return absl::InvalidArgumentError("CHAP: empty secret");
  if (credentials.secret.size() < kChapRecommendedSecretLength) {
    LOG(WARNING) << "CHAP: the initiator secret is shorter than " << kChapRecommendedSecretLength
                 << " bytes (RFC 7143 12.1.3 wants at least 96 bits)";
  }
  if (credentials.mutual()) {
    if (credentials.target_secret == credentials.secret) {
      return absl::InvalidArgumentError(
          "CHAP: the target secret must differ from the initiator secret (RFC 7143 12.1.3)");
    }
    if (credentials.target_secret.size() < kChapRecommendedSecretLength) {
      LOG(WARNING) << "CHAP: the target secret is shorter than " << kChapRecommendedSecretLength
                   << " bytes";
    }
  } else if (!credentials.target_user.empty()) {
    return absl::InvalidArgumentError("CHAP: a target user without a target secret");
  }
  ChapInitiator chap(std::move(credentials));
  if (chap.mutual()) {
    chap.own_challenge_.resize(kChapChallengeLength);
    if (RAND_bytes(&chap.own_identifier_, 1) != 1 ||
        RAND_bytes(chap.own_challenge_.data(), static_cast<int>(chap.own_challenge_.size())) != 1) {
      return absl::InternalError("CHAP: RAND_bytes failed");
    }
  }
  return chap;
}

void ChapInitiator::SetOwnChallengeForTesting(uint8_t identifier, std::vector<uint8_t> challenge) {
  own_identifier_ = identifier;
  own_challenge_ = std::move(challenge);
}

TextPairs ChapInitiator::AlgorithmOffer() const {
  return {TextPair{"CHAP_A", absl::StrCat(kChapAlgorithmMd5)}};
}

absl::StatusOr<TextPairs> ChapInitiator::OnChallenge(absl::string_view chap_a,
                                                     absl::string_view chap_i,
                                                     absl::string_view chap_c) {
  if (responded_) return absl::FailedPreconditionError("CHAP: a second challenge from the target");
  if (chap_a != "5") {
    return absl::UnimplementedError(absl::StrCat(
        "CHAP_A=", chap_a.substr(0, 32),
        ": the target chose a CHAP algorithm we did not offer; only MD5 (5) is supported"));
  }
  auto id = ParseIdentifier(chap_i);
  if (!id.ok()) return id.status();
  auto challenge = DecodeChapBinary(chap_c);
  if (!challenge.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("CHAP_C: ", challenge.status().message()));
  }
  if (mutual() && *challenge == own_challenge_) {
    return absl::PermissionDeniedError(
        "CHAP: the target's challenge equals ours (reflection attack?)");
  }
  auto response = ChapMd5Response(*id, credentials_.secret, *challenge);
  if (!response.ok()) return response.status();
  responded_ = true;
  TextPairs out = {TextPair{"CHAP_N", credentials_.user},
                   TextPair{"CHAP_R", EncodeChapHex(*response)}};
  if (mutual()) {
    out.push_back(TextPair{"CHAP_I", absl::StrCat(own_identifier_)});
    out.push_back(TextPair{"CHAP_C", EncodeChapHex(own_challenge_)});
  }
  return out;
}

absl::Status ChapInitiator::VerifyTargetResponse(absl::string_view chap_n,
                                                 absl::string_view chap_r) const {
  if (!mutual()) return absl::FailedPreconditionError("CHAP: not configured for mutual CHAP");
  if (!credentials_.target_user.empty() && chap_n != credentials_.target_user) {
    return absl::PermissionDeniedError(absl::StrCat("mutual CHAP: the target calls itself '",
                                                    chap_n.substr(0, 64), "', expected '",
                                                    credentials_.target_user, "'"));
  }
  auto got = DecodeChapBinary(chap_r);
  if (!got.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("mutual CHAP: CHAP_R: ", got.status().message()));
  }
  auto expected = ChapMd5Response(own_identifier_, credentials_.target_secret, own_challenge_);
  if (!expected.ok()) return expected.status();
  if (got->size() != expected->size() ||
      CRYPTO_memcmp(got->data(), expected->data(), expected->size()) != 0) {
    return absl::PermissionDeniedError(
        "mutual CHAP: the target's response is wrong (bad target secret)");
  }
  return absl::OkStatus();
}

}  // namespace isergw::iscsi
