// RDMA devices for iSER: each device and port as sysfs and libibverbs show
// them, the RoCE v2 IPv4 GIDs RDMA CM needs for an IPv4 portal, and the
// network device (and its MTU) behind each port.
#ifndef TOOLS_DOCTOR_RDMA_CHECKS_H_
#define TOOLS_DOCTOR_RDMA_CHECKS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "tools/doctor/check_result.h"
#include "tools/doctor/host_root.h"
#include "tools/doctor/kernel_checks.h"

namespace isergw::doctor {

struct GidEntry {
  int index = 0;
  std::string gid;     // "0000:0000:0000:0000:0000:ffff:c000:0201"
  std::string type;    // "RoCE v2", "IB/RoCE v1"
  std::string netdev;  // "veth0"; empty for InfiniBand GIDs
};

struct NetdevFacts {
  std::string name;
  std::optional<int> mtu;
  std::string operstate;  // "up", "down", "unknown"
};

struct RdmaPortFacts {
  std::string device;
  int port = 1;
  std::string state;           // "ACTIVE" (from "4: ACTIVE")
  std::string phys_state;      // "LinkUp"
  std::string link_layer;      // "Ethernet" or "InfiniBand"
  std::vector<GidEntry> gids;  // the non-zero entries of the GID table
  std::optional<NetdevFacts> netdev;
  std::optional<int> active_mtu;  // bytes, from ibv_query_port
};

struct RdmaDeviceFacts {
  std::string name;
  bool verbs_visible = false;  // listed by ibv_get_device_list
  std::vector<RdmaPortFacts> ports;
};

struct RdmaFacts {
  std::vector<RdmaDeviceFacts> devices;
  bool uverbs_node = false;   // /dev/infiniband/uverbs*
  bool rdma_cm_node = false;  // /dev/infiniband/rdma_cm
  ModuleState rxe_module = ModuleState::kUnknown;
  std::string softroce_netdev;  // a netdev to suggest for `rdma link add`
};

// "4: ACTIVE" -> "ACTIVE"; text without a number is returned trimmed.
std::string SysfsEnumName(absl::string_view text);

// The IPv4 address of an IPv4-mapped GID ("::ffff:192.0.2.1" spelled as
// eight groups of four hex digits), or nullopt.
std::optional<std::string> Ipv4OfGid(absl::string_view gid);

bool IsZeroGid(absl::string_view gid);

// Devices, ports, GIDs and netdevs under ROOT/sys/class/infiniband and
// ROOT/sys/class/net (verbs_visible and active_mtu are left unset).
std::vector<RdmaDeviceFacts> ReadRdmaSysfs(const HostRoot& root);

// The first Ethernet-type netdev that is up and not loopback, for the
// Soft-RoCE hint; "eth0" when there is none.
std::string PickSoftRoceNetdev(const HostRoot& root);

// Everything, with libibverbs for the device list and port MTUs.
RdmaFacts GatherRdmaFacts(const HostRoot& root, absl::string_view kernel_release);

// One "rdma" summary line, "rdma_cm" when there are devices, and one line
// per port ("rdma rxe0/1").
std::vector<CheckResult> DecideRdma(const RdmaFacts& facts);

CheckResult DecideRdmaPort(const RdmaPortFacts& port);

}  // namespace isergw::doctor

#endif  // TOOLS_DOCTOR_RDMA_CHECKS_H_
