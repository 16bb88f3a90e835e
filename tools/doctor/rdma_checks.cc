#include "tools/doctor/rdma_checks.h"

#include <infiniband/verbs.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace isergw::doctor {
namespace {

constexpr absl::string_view kInfinibandClass = "/sys/class/infiniband/";
constexpr absl::string_view kNetClass = "/sys/class/net/";

std::optional<NetdevFacts> ReadNetdev(const HostRoot& root, const std::string& name) {
  if (name.empty() || !root.Exists(absl::StrCat(kNetClass, name))) return std::nullopt;
  NetdevFacts netdev;
  netdev.name = name;
  int mtu = 0;
  if (auto text = root.Read(absl::StrCat(kNetClass, name, "/mtu"));
      text && absl::SimpleAtoi(*text, &mtu)) {
    netdev.mtu = mtu;
  }
  netdev.operstate = root.Read(absl::StrCat(kNetClass, name, "/operstate")).value_or("");
  return netdev;
}

// The netdev behind a port: the one its GIDs name, else the device's
// `parent` (rxe, siw), else the PCI function's net/ folder (NICs).
std::string FindPortNetdev(const HostRoot& root, const std::string& device,
                           const std::vector<GidEntry>& gids) {
  for (const GidEntry& gid : gids) {
    if (!gid.netdev.empty()) return gid.netdev;
  }
  const std::string base = absl::StrCat(kInfinibandClass, device);
  if (auto parent = root.Read(base + "/parent"); parent && !parent->empty()) return *parent;
  std::vector<std::string> nets = root.List(base + "/device/net");
  return nets.empty() ? "" : nets.front();
}

std::string ListIpv4Gids(const std::vector<GidEntry>& gids) {
  std::vector<std::string> parts;
  for (const GidEntry& gid : gids) {
    if (gid.type != "RoCE v2") continue;
    if (auto ipv4 = Ipv4OfGid(gid.gid)) {
      parts.push_back(absl::StrCat(*ipv4, " (GID ", gid.index, ")"));
    }
  }
  return absl::StrJoin(parts, ", ");
}

int MtuEnumBytes(ibv_mtu mtu) {
  switch (mtu) {
    case IBV_MTU_256:
      return 256;
    case IBV_MTU_512:
      return 512;
    case IBV_MTU_1024:
      return 1024;
    case IBV_MTU_2048:
      return 2048;
    case IBV_MTU_4096:
      return 4096;
  }
  return 0;
}

}  // namespace

std::string SysfsEnumName(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  const size_t colon = text.find(':');
  if (colon != absl::string_view::npos) text.remove_prefix(colon + 1);
  return std::string(absl::StripAsciiWhitespace(text));
}

bool IsZeroGid(absl::string_view gid) {
  return std::all_of(gid.begin(), gid.end(), [](char c) { return c == '0' || c == ':'; });
}

std::optional<std::string> Ipv4OfGid(absl::string_view gid) {
  std::vector<absl::string_view> groups = absl::StrSplit(gid, ':');
  if (groups.size() != 8) return std::nullopt;
  uint32_t values[8];
  for (size_t i = 0; i < 8; ++i) {
    if (groups[i].empty() || groups[i].size() > 4 || !absl::SimpleHexAtoi(groups[i], &values[i])) {
      return std::nullopt;
    }
  }
  for (size_t i = 0; i < 5; ++i) {
    if (values[i] != 0) return std::nullopt;
  }
  if (values[5] != 0xffff) return std::nullopt;
  return absl::StrCat(values[6] >> 8, ".", values[6] & 0xff, ".", values[7] >> 8, ".",
                      values[7] & 0xff);
}

std::vector<RdmaDeviceFacts> ReadRdmaSysfs(const HostRoot& root) {
  std::vector<RdmaDeviceFacts> devices;
  for (const std::string& name : root.List(kInfinibandClass)) {
    RdmaDeviceFacts device;
    device.name = name;
    const std::string ports_dir = absl::StrCat(kInfinibandClass, name, "/ports");
    for (const std::string& port_name : root.List(ports_dir)) {
      RdmaPortFacts port;
      port.device = name;
      if (!absl::SimpleAtoi(port_name, &port.port)) continue;
      const std::string base = absl::StrCat(ports_dir, "/", port_name);
      port.state = SysfsEnumName(root.Read(base + "/state").value_or("?"));
      port.phys_state = SysfsEnumName(root.Read(base + "/phys_state").value_or("?"));
      port.link_layer = root.Read(base + "/link_layer").value_or("");
      for (const std::string& index_name : root.List(base + "/gids")) {
        GidEntry entry;
        if (!absl::SimpleAtoi(index_name, &entry.index)) continue;
        auto gid = root.Read(absl::StrCat(base, "/gids/", index_name));
        if (!gid || IsZeroGid(*gid)) continue;
        entry.gid = *gid;
        entry.type = root.Read(absl::StrCat(base, "/gid_attrs/types/", index_name)).value_or("");
        entry.netdev = root.Read(absl::StrCat(base, "/gid_attrs/ndevs/", index_name)).value_or("");
        port.gids.push_back(std::move(entry));
      }
      std::sort(port.gids.begin(), port.gids.end(),
                [](const GidEntry& a, const GidEntry& b) { return a.index < b.index; });
      port.netdev = ReadNetdev(root, FindPortNetdev(root, name, port.gids));
      device.ports.push_back(std::move(port));
    }
    std::sort(device.ports.begin(), device.ports.end(),
              [](const RdmaPortFacts& a, const RdmaPortFacts& b) { return a.port < b.port; });
    devices.push_back(std::move(device));
  }
  return devices;
}

std::string PickSoftRoceNetdev(const HostRoot& root) {
  for (const std::string& name : root.List(kNetClass)) {
    if (name == "lo") continue;
    // ARPHRD_ETHER (1): rxe runs on Ethernet-like devices only.
    if (root.Read(absl::StrCat(kNetClass, name, "/type")) != "1") continue;
    if (root.Read(absl::StrCat(kNetClass, name, "/operstate")) == "up") return name;
  }
  return "eth0";
}

RdmaFacts GatherRdmaFacts(const HostRoot& root, absl::string_view kernel_release) {
  RdmaFacts facts;
  facts.devices = ReadRdmaSysfs(root);
  for (const std::string& node : root.List("/dev/infiniband")) {
    if (absl::StartsWith(node, "uverbs")) facts.uverbs_node = true;
    if (node == "rdma_cm") facts.rdma_cm_node = true;
  }
  facts.rxe_module = FindModule(root, kernel_release, "rdma_rxe");
  facts.softroce_netdev = PickSoftRoceNetdev(root);

  int count = 0;
  ibv_device** list = ibv_get_device_list(&count);
  for (int i = 0; list != nullptr && i < count; ++i) {
    const std::string name = ibv_get_device_name(list[i]);
    auto device = std::find_if(facts.devices.begin(), facts.devices.end(),
                               [&](const RdmaDeviceFacts& d) { return d.name == name; });
    if (device == facts.devices.end()) continue;
    device->verbs_visible = true;
    ibv_context* context = ibv_open_device(list[i]);
    if (context == nullptr) continue;
    for (RdmaPortFacts& port : device->ports) {
      ibv_port_attr attr;
      if (ibv_query_port(context, static_cast<uint8_t>(port.port), &attr) == 0) {
        port.active_mtu = MtuEnumBytes(attr.active_mtu);
      }
    }
    ibv_close_device(context);
  }
  if (list != nullptr) ibv_free_device_list(list);
  return facts;
}

CheckResult DecideRdmaPort(const RdmaPortFacts& port) {
  CheckResult result{absl::StrCat("rdma ", port.device, "/", port.port), Verdict::kOk, "", ""};
  const bool ethernet = port.link_layer == "Ethernet";
  const std::string netdev_name = port.netdev ? port.netdev->name : "";
  std::string netdev_text = "no network device found";
  if (port.netdev) {
    netdev_text = absl::StrCat("netdev ", port.netdev->name);
    if (port.netdev->mtu) absl::StrAppend(&netdev_text, " MTU ", *port.netdev->mtu);
    if (!port.netdev->operstate.empty() && port.netdev->operstate != "up") {
      absl::StrAppend(&netdev_text, " (", port.netdev->operstate, ")");
    }
  }
  if (port.active_mtu && *port.active_mtu > 0) {
    absl::StrAppend(&netdev_text, ", RDMA MTU ", *port.active_mtu);
  }

  if (port.state != "ACTIVE") {
    result.verdict = Verdict::kWarn;
    result.detail =
        absl::StrCat("port ", port.state, " (physical ", port.phys_state, "), ",
                     port.link_layer.empty() ? "" : port.link_layer + ", ", netdev_text);
    if (ethernet && port.netdev && port.netdev->operstate != "down") {
      // Administratively up, but no carrier: nothing to type, a cable to check.
      result.fix = absl::StrCat(netdev_name, " is up but has no link (", port.netdev->operstate,
                                "): check its cable and switch port (for a veth, its peer)");
    } else if (ethernet) {
      result.fix = netdev_name.empty()
                       ? "bring up the network device behind this port (ip link set DEV up)"
                       : absl::StrCat("ip link set ", netdev_name,
                                      " up, and check its cable and switch port");
    } else {
      result.fix = "check the cable and that a subnet manager runs on the fabric (opensm)";
    }
    return result;
  }
  if (!ethernet) {
    result.detail = absl::StrCat("ACTIVE, ", port.link_layer.empty() ? "?" : port.link_layer,
                                 "; RDMA CM uses the IPoIB address of its netdev; ", netdev_text);
    return result;
  }
  const std::string ipv4 = ListIpv4Gids(port.gids);
  if (ipv4.empty()) {
    result.verdict = Verdict::kWarn;
    result.detail = absl::StrCat(
        "ACTIVE, but no RoCE v2 GID with an IPv4 address: RDMA CM cannot reach IPv4 portals "
        "through it; ",
        netdev_text);
    result.fix = netdev_name.empty()
                     ? "give the port's network device an IPv4 address"
                     : absl::StrCat("give ", netdev_name, " an IPv4 address (ip addr add ADDRESS/",
                                    "PREFIX dev ", netdev_name, ")");
    return result;
  }
  result.detail = absl::StrCat("ACTIVE, RoCE v2 ", ipv4, ", ", netdev_text);
  if (port.active_mtu && *port.active_mtu > 0 && *port.active_mtu < 1024) {
    result.verdict = Verdict::kWarn;
    result.fix = absl::StrCat("raise the MTU of ", netdev_name.empty() ? "its netdev" : netdev_name,
                              " to 1500 or more (RDMA MTU 1024; 4200 gives 4096)");
  }
  return result;
}

std::vector<CheckResult> DecideRdma(const RdmaFacts& facts) {
  std::vector<CheckResult> results;
  if (facts.devices.empty()) {
    CheckResult none{"rdma", Verdict::kWarn,
                     "no RDMA device: iser:// is unavailable (iscsi:// over TCP works)", ""};
    const std::string softroce = absl::StrCat(
        "modprobe rdma_rxe && rdma link add rxe0 type rxe netdev ", facts.softroce_netdev);
    if (facts.rxe_module == ModuleState::kMissing) {
      none.fix =
          "load the driver of the host's RDMA NIC (e.g. modprobe mlx5_ib); this kernel "
          "has no rdma_rxe for Soft-RoCE";
    } else {
      none.fix = absl::StrCat(
          "load the driver of the host's RDMA NIC (e.g. modprobe mlx5_ib); without one, "
          "Soft-RoCE: ",
          softroce);
    }
    results.push_back(std::move(none));
    return results;
  }

  std::vector<std::string> names, unseen;
  for (const RdmaDeviceFacts& device : facts.devices) {
    names.push_back(device.name);
    if (!device.verbs_visible) unseen.push_back(device.name);
  }
  CheckResult summary{
      "rdma", Verdict::kOk,
      absl::StrCat(facts.devices.size(), " RDMA device", facts.devices.size() == 1 ? "" : "s", ": ",
                   absl::StrJoin(names, ", ")),
      ""};
  if (!facts.uverbs_node) {
    summary.verdict = Verdict::kWarn;
    absl::StrAppend(&summary.detail, "; /dev/infiniband/uverbs* missing");
    summary.fix = "modprobe ib_uverbs";
  } else if (!unseen.empty()) {
    summary.verdict = Verdict::kWarn;
    absl::StrAppend(&summary.detail, "; libibverbs does not list ", absl::StrJoin(unseen, ", "),
                    " (no userspace provider)");
    summary.fix = "apt install rdma-core ibverbs-providers";
  }
  results.push_back(std::move(summary));

  if (facts.rdma_cm_node) {
    results.push_back({"rdma_cm", Verdict::kOk, "/dev/infiniband/rdma_cm present", ""});
  } else {
    results.push_back({"rdma_cm", Verdict::kWarn,
                       "/dev/infiniband/rdma_cm missing: iSER cannot open connections",
                       "modprobe rdma_ucm"});
  }
  for (const RdmaDeviceFacts& device : facts.devices) {
    if (device.ports.empty()) {
      results.push_back({absl::StrCat("rdma ", device.name), Verdict::kWarn, "no ports in sysfs",
                         "check dmesg for the driver's errors"});
    }
    for (const RdmaPortFacts& port : device.ports) results.push_back(DecideRdmaPort(port));
  }
  return results;
}

}  // namespace isergw::doctor
