// Environment and randomness as parameters, so configuration code can be
// tested without touching the process environment or system files.
#ifndef ISER_CLIENT_CONFIG_ENVIRONMENT_H_
#define ISER_CLIENT_CONFIG_ENVIRONMENT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace isergw::iscsi {

// Returns a variable's value, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(absl::string_view name)>;

// Looks variables up in the process environment (getenv).
EnvLookup ProcessEnvironment();

// Fills the span with random bytes.
using RandomSource = std::function<absl::Status(absl::Span<uint8_t> out)>;

// getrandom(2): the kernel's CSPRNG.
absl::Status SystemRandom(absl::Span<uint8_t> out);

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CONFIG_ENVIRONMENT_H_
