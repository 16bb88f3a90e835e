// What a volume is, as the user asked for it: the URL (never with a
// secret), the name, the shape of the ublk device and how to log in. It is
// what `attach` sends the daemon and what the state file records, so a
// restarted daemon can attach the same volume again.
#ifndef GATEWAY_VOLUME_SPEC_H_
#define GATEWAY_VOLUME_SPEC_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace isergw::gateway {

// Which transport carries an iSCSI volume. kFromUrl: iser:// or iscsi://
// decides; kAuto tries iSER and falls back to TCP.
enum class TransportChoice { kFromUrl, kIser, kTcp, kAuto };

absl::StatusOr<TransportChoice> ParseTransportChoice(absl::string_view text);
absl::string_view TransportChoiceName(TransportChoice choice);

struct VolumeSpec {
  std::string name;  // unique among the daemon's volumes
  std::string url;   // ParseUrl's forms, never with a password
  uint16_t queues = 1;
  uint16_t depth = 128;
  TransportChoice transport = TransportChoice::kFromUrl;
  bool persist = false;  // attached again after a reboot
  // CHAP: a credentials file name under <config-dir>/chap/, or an absolute
  // path; empty for none. The file, not the secret, is what is recorded.
  std::string chap;
  std::string header_digest = "none";  // none, crc32c, prefer-crc32c
  std::string data_digest = "none";
  uint32_t block_size = 0;  // file:// and mem:// only; 0: the default
  // iser:// only (see --strict-rdma and --busy-poll).
  bool strict_rdma = false;
  bool busy_poll = false;
  // iSCSI only: how long I/O waits for a lost session to come back before
  // it fails with EIO (open-iscsi's replacement_timeout); `isergw set`
  // changes it live.
  uint32_t replacement_timeout_s = 120;
  // iSCSI only: more portals of the same target ("HOST[:PORT],..."), tried
  // in turn when one is down; with spread_portals queues start at
  // different ones.
  std::string portals;
  bool spread_portals = false;
  bool discover_portals = false;  // and the target's others, from SendTargets
  // iSCSI only: the network interface every path uses unless its portal
  // names one ("HOST@IFACE"); empty: routing decides.
  std::string iface;
  // iSCSI only: the identity of the LUN the volume was attached to (VPD
  // 0x80, 0x83), recorded by the daemon. When set, attaching again (after a
  // restart or reboot) refuses a LUN that is not this one.
  std::string lun_serial;
  std::string lun_wwn;
};

// Names: 1 to 64 of [A-Za-z0-9._-], not starting with '.' or '-'; they
// become /dev/isergw/NAME.
absl::Status ValidateVolumeName(absl::string_view name);

// Checks every field (the URL parses and holds no secret, the name, queues,
// depth, CHAP reference, digests) with one clear error for the first wrong one.
absl::Status ValidateVolumeSpec(const VolumeSpec& spec);

// A name for a volume attached without --name: "<last part of the target
// name>-lun<N>" for iSCSI ("vol1-lun0"), the file's base name, "mem-<size>".
std::string DefaultVolumeName(absl::string_view url);

nlohmann::json VolumeSpecToJson(const VolumeSpec& spec);
// Missing fields take their defaults; wrong types and unknown transports
// are errors. The result is not validated: call ValidateVolumeSpec.
absl::StatusOr<VolumeSpec> VolumeSpecFromJson(const nlohmann::json& json);

}  // namespace isergw::gateway

#endif  // GATEWAY_VOLUME_SPEC_H_
