#include "tools/doctor/kernel_checks.h"

#include <liburing.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ublk/control.h"
#include "ublk/uapi.h"

namespace isergw::doctor {
namespace {

std::string NormalizeModuleName(absl::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '-') c = '_';
  }
  return out;
}

// "kernel/drivers/block/ublk_drv.ko.xz" -> "ublk_drv".
std::string ModuleNameOfPath(absl::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash != absl::string_view::npos) path.remove_prefix(slash + 1);
  const size_t ko = path.find(".ko");
  if (ko == absl::string_view::npos) return "";
  return NormalizeModuleName(path.substr(0, ko));
}

constexpr const char* kUblkFeatureNames[] = {
    "SUPPORT_ZERO_COPY",
    "URING_CMD_COMP_IN_TASK",
    "NEED_GET_DATA",
    "USER_RECOVERY",
    "USER_RECOVERY_REISSUE",
    "UNPRIVILEGED_DEV",
    "CMD_IOCTL_ENCODE",
    "USER_COPY",
    "ZONED",
    "USER_RECOVERY_FAIL_IO",
    "UPDATE_SIZE",
    "AUTO_BUF_REG",
};

}  // namespace

bool ModuleListed(absl::string_view modules_text, absl::string_view name) {
  const std::string wanted = NormalizeModuleName(name);
  for (absl::string_view line : absl::StrSplit(modules_text, '\n')) {
    // modules.dep: "path: deps"; modules.builtin: "path".
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos) line = line.substr(0, colon);
    if (!line.empty() && ModuleNameOfPath(line) == wanted) return true;
  }
  return false;
}

ModuleState FindModule(const HostRoot& root, absl::string_view kernel_release,
                       absl::string_view name) {
  if (root.Exists(absl::StrCat("/sys/module/", NormalizeModuleName(name)))) {
    return ModuleState::kLoaded;
  }
  const std::string dir = absl::StrCat("/lib/modules/", kernel_release);
  if (std::optional<std::string> builtin = root.ReadAll(dir + "/modules.builtin");
      builtin && ModuleListed(*builtin, name)) {
    return ModuleState::kBuiltin;
  }
  std::optional<std::string> dep = root.ReadAll(dir + "/modules.dep");
  if (!dep) return ModuleState::kUnknown;
  return ModuleListed(*dep, name) ? ModuleState::kAvailable : ModuleState::kMissing;
}

std::string KernelRelease() {
  utsname names;
  if (uname(&names) != 0) return "";
  return names.release;
}

// --- ublk ---

UblkFacts GatherUblkFacts(const HostRoot& root, absl::string_view kernel_release) {
  UblkFacts facts;
  facts.kernel_release = std::string(kernel_release);
  facts.control_node = root.Exists(ublk::kControlPath);
  facts.module = FindModule(root, kernel_release, "ublk_drv");
  return facts;
}

void QueryUblkFeatures(UblkFacts& facts) {
  auto control = ublk::ControlDevice::Open();
  if (!control.ok()) {
    facts.query = control.status().code() == absl::StatusCode::kPermissionDenied
                      ? UblkFacts::Query::kPermissionDenied
                      : UblkFacts::Query::kError;
    facts.query_error = std::string(control.status().message());
    return;
  }
  facts.query = UblkFacts::Query::kAnswered;
  facts.features_known = (*control)->features_known();
  facts.features = (*control)->features();
}

std::string UblkFeatureNames(uint64_t features) {
  std::vector<std::string> names;
  for (int bit = 0; bit < 64; ++bit) {
    if ((features & (uint64_t{1} << bit)) == 0) continue;
    if (bit < static_cast<int>(std::size(kUblkFeatureNames))) {
      names.emplace_back(kUblkFeatureNames[bit]);
    } else {
      names.push_back(absl::StrCat("bit ", bit));
    }
  }
  return names.empty() ? "none" : absl::StrJoin(names, " ");
}

CheckResult DecideUblk(const UblkFacts& facts) {
  CheckResult result{"ublk", Verdict::kOk, "", ""};
  const std::string load_at_boot =
      " (to load it at boot: echo ublk_drv > /etc/modules-load.d/isergw.conf)";
  if (!facts.control_node) {
    result.verdict = Verdict::kFail;
    switch (facts.module) {
      case ModuleState::kLoaded:
      case ModuleState::kBuiltin:
        result.detail = "the ublk driver is in the kernel but /dev/ublk-control is missing";
        result.fix =
            "mount devtmpfs on /dev (mount -t devtmpfs devtmpfs /dev) or let udev create "
            "/dev/ublk-control";
        break;
      case ModuleState::kAvailable:
        result.detail = "ublk_drv is not loaded (/dev/ublk-control is missing)";
        result.fix = "modprobe ublk_drv" + load_at_boot;
        break;
      case ModuleState::kUnknown:
        result.detail = absl::StrCat("/dev/ublk-control is missing and /lib/modules/",
                                     facts.kernel_release, " cannot be read");
        result.fix = "modprobe ublk_drv" + load_at_boot;
        break;
      case ModuleState::kMissing:
        result.detail = absl::StrCat("kernel ", facts.kernel_release, " has no ublk_drv module");
        result.fix =
            "boot a kernel built with CONFIG_BLK_DEV_UBLK (Linux 6.0 or later; on Debian 12: "
            "apt install -t bookworm-backports linux-image-amd64), or use attach --frontend nbd";
        break;
    }
    return result;
  }
  switch (facts.query) {
    case UblkFacts::Query::kNotTried:
      result.detail = "/dev/ublk-control present";
      return result;
    case UblkFacts::Query::kPermissionDenied:
      result.verdict = Verdict::kWarn;
      result.detail = "/dev/ublk-control present, but this user may not open it";
      result.fix = "run as root (sudo isergw doctor) to query the driver's features";
      return result;
    case UblkFacts::Query::kError:
      result.verdict = Verdict::kFail;
      result.detail = absl::StrCat("/dev/ublk-control does not answer: ", facts.query_error);
      result.fix =
          "reload the driver (modprobe -r ublk_drv && modprobe ublk_drv) once no "
          "ublk device is in use, and check dmesg";
      return result;
    case UblkFacts::Query::kAnswered:
      break;
  }
  if (!facts.features_known) {
    result.detail =
        "/dev/ublk-control answers; the kernel has no GET_FEATURES (before 6.5): legacy "
        "opcodes, 6.1 feature set";
    return result;
  }
  result.detail =
      absl::StrCat("/dev/ublk-control answers; features: ", UblkFeatureNames(facts.features));
  if ((facts.features & UBLK_F_USER_RECOVERY) == 0) {
    result.verdict = Verdict::kWarn;
    result.detail += "; no USER_RECOVERY: a daemon restart fails the devices' I/O";
    result.fix = "use a kernel with ublk user recovery (Linux 6.0 or later)";
  }
  return result;
}

// --- io_uring ---

IoUringFacts GatherIoUringFacts(const HostRoot& root, bool privileged) {
  IoUringFacts facts;
  facts.privileged = privileged;
  facts.disabled_sysctl = root.Read("/proc/sys/kernel/io_uring_disabled");
  io_uring ring;
  const int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) {
    facts.setup_error = -rc;
  } else {
    io_uring_queue_exit(&ring);
  }
  return facts;
}

CheckResult DecideIoUring(const IoUringFacts& facts) {
  CheckResult result{"io_uring", Verdict::kOk, "", ""};
  const std::string sysctl_text =
      facts.disabled_sysctl ? absl::StrCat("kernel.io_uring_disabled = ", *facts.disabled_sysctl)
                            : "no kernel.io_uring_disabled sysctl";
  const std::string enable = "sysctl -w kernel.io_uring_disabled=0";
  if (facts.setup_error == 0) {
    result.detail = absl::StrCat("io_uring_queue_init works (", sysctl_text, ")");
    return result;
  }
  result.verdict = Verdict::kFail;
  result.detail = absl::StrCat("io_uring_queue_init failed: ", std::strerror(facts.setup_error),
                               " (", sysctl_text, ")");
  if (facts.disabled_sysctl == "2") {
    result.fix = enable + " (2 disables io_uring for everyone)";
  } else if (facts.disabled_sysctl == "1" && !facts.privileged) {
    result.fix = absl::StrCat("run as root, or add this user to the group in ",
                              "kernel.io_uring_group, or ", enable);
  } else if (facts.setup_error == ENOSYS) {
    result.fix = "boot a kernel with io_uring (CONFIG_IO_URING, Linux 6.0 or later)";
  } else if (facts.setup_error == EPERM || facts.setup_error == EACCES) {
    result.fix = absl::StrCat(enable,
                              "; in a container, allow the io_uring_setup system call in the "
                              "seccomp profile");
  } else if (facts.setup_error == ENOMEM) {
    result.fix = "raise the locked-memory limit (ulimit -l unlimited, LimitMEMLOCK=infinity)";
  } else {
    result.fix = "check dmesg for io_uring errors";
  }
  return result;
}

// --- NBD ---

NbdFacts GatherNbdFacts(const HostRoot& root, absl::string_view kernel_release) {
  NbdFacts facts;
  facts.kernel_release = std::string(kernel_release);
  facts.device_node = root.Exists("/dev/nbd0");
  facts.module = FindModule(root, kernel_release, "nbd");
  return facts;
}

CheckResult DecideNbd(const NbdFacts& facts) {
  CheckResult result{"nbd", Verdict::kOk, "", ""};
  if (facts.device_node) {
    result.detail = "/dev/nbd0 present (attach --frontend nbd and export can use it)";
    return result;
  }
  // NBD is the fallback frontend: missing is worth a warning, not a failure.
  result.verdict = Verdict::kWarn;
  switch (facts.module) {
    case ModuleState::kLoaded:
    case ModuleState::kBuiltin:
      result.detail = "nbd is in the kernel but /dev/nbd0 is missing";
      result.fix = "mount devtmpfs on /dev or let udev create /dev/nbd*";
      break;
    case ModuleState::kAvailable:
    case ModuleState::kUnknown:
      result.detail = "nbd is not loaded (only attach --frontend nbd needs it)";
      result.fix = "modprobe nbd";
      break;
    case ModuleState::kMissing:
      result.detail = absl::StrCat("kernel ", facts.kernel_release,
                                   " has no nbd module (only attach --frontend nbd needs it)");
      result.fix = "use the ublk frontend, or a kernel built with CONFIG_BLK_DEV_NBD";
      break;
  }
  return result;
}

}  // namespace isergw::doctor
