// CHAP for iSCSI login (RFC 7143 section 12.1.3, RFC 1994), MD5 only.
#ifndef ISER_CLIENT_LOGIN_CHAP_H_
#define ISER_CLIENT_LOGIN_CHAP_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "iser_client/login/text_params.h"

namespace isergw::iscsi {

inline constexpr int kChapAlgorithmMd5 = 5;
inline constexpr size_t kChapMd5Length = 16;
inline constexpr size_t kChapChallengeLength = 16;    // our challenge for mutual CHAP
inline constexpr size_t kChapMaxBinaryLength = 1024;  // RFC 7143 12.1.3
inline constexpr size_t kChapRecommendedSecretLength = 12;

struct ChapCredentials {
  std::string user;    // CHAP_N we send
  std::string secret;  // never logged
  // Mutual CHAP: set both to authenticate the target as well.
  std::string target_user;    // expected CHAP_N from the target; empty: any
  std::string target_secret;  // empty: one-way CHAP
  bool mutual() const { return !target_secret.empty(); }
};

// RFC 7143 large-binary-value: "0x" + hex digits or "0b" + base64.
absl::StatusOr<std::vector<uint8_t>> DecodeChapBinary(absl::string_view value);
std::string EncodeChapHex(std::span<const uint8_t> bytes);  // "0x" + lowercase hex

// MD5(identifier || secret || challenge), RFC 1994 section 4.1.
absl::StatusOr<std::array<uint8_t, kChapMd5Length>> ChapMd5Response(
    uint8_t identifier, absl::string_view secret, std::span<const uint8_t> challenge);

// One CHAP exchange as the initiator.
class ChapInitiator {
 public:
  // Validates the credentials (empty user/secret, equal secrets in both
  // directions are errors; secrets under 12 bytes get a warning) and, for
  // mutual CHAP, draws our identifier and challenge with RAND_bytes.
  static absl::StatusOr<ChapInitiator> Create(ChapCredentials credentials);

  // "CHAP_A=5": the only algorithm we offer.
  TextPairs AlgorithmOffer() const;

  // Handles the target's CHAP_A/CHAP_I/CHAP_C and returns CHAP_N, CHAP_R and,
  // for mutual CHAP, our CHAP_I and CHAP_C. Refuses any algorithm but MD5 and a
  // challenge equal to ours (reflection).
  absl::StatusOr<TextPairs> OnChallenge(absl::string_view chap_a, absl::string_view chap_i,
                                        absl::string_view chap_c);

  // Mutual CHAP: checks the target's CHAP_N and CHAP_R (constant time).
  absl::Status VerifyTargetResponse(absl::string_view chap_n, absl::string_view chap_r) const;

  bool mutual() const { return credentials_.mutual(); }

  // Tests: replace the random identifier/challenge of mutual CHAP.
  void SetOwnChallengeForTesting(uint8_t identifier, std::vector<uint8_t> challenge);

 private:
  explicit ChapInitiator(ChapCredentials credentials) : credentials_(std::move(credentials)) {}

  ChapCredentials credentials_;
  uint8_t own_identifier_ = 0;
  std::vector<uint8_t> own_challenge_;
  bool responded_ = false;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_LOGIN_CHAP_H_
