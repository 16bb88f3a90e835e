// Stable names for a volume's /dev/ublkbN, so fstab, hypervisors and
// orchestrators can find it whatever number the kernel gave it:
//   /dev/disk/by-path/ip-<host>:<port>-iscsi-<target>-lun-<n>
//       the form udev's path_id gives open-iscsi disks, so existing path
//       matching keeps working;
//   /dev/disk/by-id/wwn-0x<naa>   from the LUN's VPD 0x83 designator;
//   /dev/isergw/<name>            the volume's own name.
// The daemon makes them (ublk devices have no SCSI parent for udev's rules
// to describe) and removes them on detach.
#ifndef GATEWAY_DEVICE_LINKS_H_
#define GATEWAY_DEVICE_LINKS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "iser_client/config/url.h"

namespace isergw::gateway {

struct DeviceLink {
  std::string path;    // absolute, under the links root
  std::string target;  // relative to the link's folder, e.g. "../../ublkb0"
};

// `root` is "/dev" (tests pass a temporary folder). `wwn` is LunInfo::wwn
// ("naa.6001405..."), empty when the LUN has none; `url` may be any scheme.
std::vector<DeviceLink> DeviceLinksFor(const std::string& root, const std::string& name,
                                       const iscsi::ParsedUrl& url, const std::string& wwn,
                                       uint32_t device_id);

// Creates each link (replacing a stale one, creating folders as needed).
absl::Status CreateDeviceLinks(const std::vector<DeviceLink>& links);
// Removes each link that still points where it should; others are left.
void RemoveDeviceLinks(const std::vector<DeviceLink>& links);

}  // namespace isergw::gateway

#endif  // GATEWAY_DEVICE_LINKS_H_
