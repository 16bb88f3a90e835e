// The rules of iSCSI session recovery at ErrorRecoveryLevel 0 as a queue
// applies them (RFC 7143 6.3.5 and 7.1.4, open-iscsi's replacement
// timeout): when to try again, where, how long I/O may wait, and whether the
// LUN that answers after a reconnect is still the one the volume was
// attached to. Pure: the queue's state machine calls these.
#ifndef GATEWAY_PATH_RECOVERY_H_
#define GATEWAY_PATH_RECOVERY_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "iser_client/transport/transport.h"

namespace isergw::gateway {

// open-iscsi's node.session.timeo.replacement_timeout default.
inline constexpr absl::Duration kDefaultReplacementTimeout = absl::Seconds(120);
inline constexpr int64_t kMaxReplacementTimeoutSeconds = 24 * 3600;

// What a queue's path to its LUN is doing.
enum class PathState : uint8_t {
  kLive,       // logged in; commands flow
  kBackoff,    // session lost; waiting before the next login attempt
  kLoggingIn,  // a login attempt is in flight
  kVerifying,  // logged in again; checking the LUN's identity (VPD 0x80, 0x83)
  kStopped,    // a different LUN answered: the queue failed for good
};
absl::string_view PathStateName(PathState state);

// How a volume rides through outages; shared by its queues, changeable on a
// live volume (`isergw set`), read by the queue threads.
struct RecoverySettings {
  std::atomic<int64_t> replacement_timeout_ms{
      absl::ToInt64Milliseconds(kDefaultReplacementTimeout)};
  // The volume is being detached: queued I/O fails now instead of holding
  // the device's deletion up to the replacement timeout.
  std::atomic<bool> give_up{false};

  absl::Duration replacement_timeout() const {
    return absl::Milliseconds(replacement_timeout_ms.load(std::memory_order_relaxed));
  }
  void set_replacement_timeout(absl::Duration d) {
    replacement_timeout_ms.store(absl::ToInt64Milliseconds(d), std::memory_order_relaxed);
  }
};

// The wait before login attempt `attempt` (0 is the first after the loss):
// at once, then doubling from 0.5 s to at most 5 s, so a flapping link
// recovers within seconds and a dead portal costs a login every 5 s.
absl::Duration ReconnectDelay(int attempt);

// The portal the queue `queue_id` logs in to first: with `spread`, queues
// take the portals in turn; otherwise every queue starts at the first.
size_t FirstPortalIndex(uint16_t queue_id, size_t portals, bool spread);

// A login failure that says this portal is unusable (refused, unreachable,
// timed out, connection lost), so another portal of the target may work;
// a refusal by the target itself (CHAP, no such target) is not.
bool IsPortalFailure(const absl::Status& status);

// Parses "HOST[:PORT][@IFACE],..." (IPv6 as [ADDR]:PORT), the --portals
// list: each portal optionally bound to a network interface. Empty text
// gives no portals.
absl::StatusOr<std::vector<iscsi::Endpoint>> ParsePortalList(absl::string_view text);
std::string FormatPortalList(const std::vector<iscsi::Endpoint>& portals);
// "HOST:PORT" or "HOST:PORT@IFACE".
std::string FormatPath(const iscsi::Endpoint& portal);
// A Linux network interface name: 1 to 15 characters, no '/', ':' or space.
absl::Status ValidateInterfaceName(absl::string_view name);

// What a LUN says it is.
struct LunIdentity {
  std::string serial;  // VPD 0x80; empty if the LUN has none
  std::string wwn;     // VPD 0x83; empty if none
};

// OK when `found` is the LUN `expected` described (fields the LUN did not
// report at attach time are not compared); FailedPrecondition naming both
// otherwise, so the volume stops instead of writing to another LUN.
absl::Status CheckSameLun(const LunIdentity& expected, const LunIdentity& found,
                          absl::string_view portal);

}  // namespace isergw::gateway

#endif  // GATEWAY_PATH_RECOVERY_H_
