// The verbs that ask the daemon about its volumes:
//   isergw detach DEVICE|NAME [--force]
//   isergw list [--json]
//   isergw status [DEVICE|NAME] [--json | --prometheus]
//   isergw set DEVICE|NAME replacement-timeout=SECONDS
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "gateway/control_socket.h"
#include "iser_client/config/exit_codes.h"
#include "tools/cli/daemon_flags.h"
#include "tools/cli/flags.h"
#include "tools/cli/report.h"
#include "tools/verbs/verbs.h"

namespace isergw::cli {
namespace {

// Detach waits for the block layer to drain and the target to flush.
constexpr absl::Duration kDetachTimeout = absl::Minutes(5);
constexpr absl::Duration kQueryTimeout = absl::Seconds(30);

int Usage(const char* usage) {
  return ReportFailure(
      iscsi::WithFailure(absl::InvalidArgumentError(usage), iscsi::FailureKind::kInvalidArgument));
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.4g %s", value, units[unit]);
}

std::string HumanCount(uint64_t n) {
  if (n < 10000) return absl::StrCat(n);
  if (n < 10000000) return absl::StrFormat("%.1fk", n / 1e3);
  return absl::StrFormat("%.1fM", n / 1e6);
}

std::string HumanLatency(uint64_t us) {
  if (us == 0) return "-";
  if (us < 10000) return absl::StrCat(us, "us");
  return absl::StrFormat("%.1fms", us / 1e3);
}

template <typename T>
T Field(const nlohmann::json& object, const char* key, T fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<T>();
}

void PrintVolumeDetail(const nlohmann::json& v) {
  printf("%s (%s)\n", Field<std::string>(v, "name", "").c_str(),
         Field<std::string>(v, "device", "").c_str());
  printf("  url:        %s\n", Field<std::string>(v, "url", "").c_str());
  printf("  state:      %s%s\n", Field<std::string>(v, "state", "").c_str(),
         v.contains("error") ? absl::StrCat(": ", Field<std::string>(v, "error", "")).c_str() : "");
  if (Field<std::string>(v, "state", "") != "attached") return;
  if (v.contains("recovery") && v["recovery"].is_object()) {
    const nlohmann::json& r = v["recovery"];
    printf(
        "  path:       %s, replacement timeout %llds, %llu reconnects, %llu reissued, %llu failed"
        " while down%s\n",
        r.value("state", "").c_str(),
        static_cast<long long>(r.value("replacement_timeout_seconds", 0ll)),
        static_cast<unsigned long long>(r.value("reconnects", 0ull)),
        static_cast<unsigned long long>(r.value("reissued", 0ull)),
        static_cast<unsigned long long>(r.value("failed_while_down", 0ull)),
        r.value("last_error", "").empty()
            ? ""
            : absl::StrCat("; last error: ", r.value("last_error", "")).c_str());
  }
  printf("  transport:  %s\n", Field<std::string>(v, "transport", "").c_str());
  printf("  size:       %s, %u-byte blocks\n",
         HumanBytes(Field<uint64_t>(v, "size_bytes", 0)).c_str(),
         v["limits"].value("logical_block_size", 0u));
  printf("  queues:     %u x depth %u%s\n", Field<unsigned>(v, "queues", 0),
         Field<unsigned>(v, "depth", 0), Field<bool>(v, "recovered", false) ? " (recovered)" : "");
  if (v.contains("portal")) {
    printf("  portal:     %s  target %s\n", Field<std::string>(v, "portal", "").c_str(),
           Field<std::string>(v, "target", "").c_str());
    const nlohmann::json& lun = v["lun"];
    printf("  lun:        %u  %s %s  serial %s  wwn %s\n", lun.value("lun", 0u),
           lun.value("vendor", "").c_str(), lun.value("product", "").c_str(),
           lun.value("serial", "").c_str(), lun.value("wwn", "").c_str());
    printf("  chap:       %s\n", Field<std::string>(v, "chap", "").c_str());
    for (const nlohmann::json& s : v["sessions"]) {
      const nlohmann::json& p = s["parameters"];
      printf(
          "  session:    queue %u %s %s isid %s tsih %u: digests %s/%s, burst %u/%u, segment "
          "%u/%u%s\n",
          s.value("queue", 0u), s.value("state", "").c_str(), s.value("portal", "").c_str(),
          s.value("isid", "").c_str(), s.value("tsih", 0u), p.value("header_digest", "").c_str(),
          p.value("data_digest", "").c_str(), p.value("first_burst_length", 0u),
          p.value("max_burst_length", 0u), p.value("max_send_data_segment_length", 0u),
          p.value("max_recv_data_segment_length", 0u),
          p.value("rdma_extensions", false) ? ", RDMA extensions" : "");
      if (s.contains("counters")) {
        const nlohmann::json& c = s["counters"];
        printf(
            "              %s commands, %s R2Ts, %s pings; %llu rejects, %llu aborts, %llu LUN "
            "resets, %llu protocol errors\n",
            HumanCount(c.value("commands", 0ull)).c_str(),
            HumanCount(c.value("r2ts", 0ull)).c_str(),
            HumanCount(c.value("nop_pings", 0ull)).c_str(),
            static_cast<unsigned long long>(c.value("rejects", 0ull)),
            static_cast<unsigned long long>(c.value("aborts", 0ull)),
            static_cast<unsigned long long>(c.value("lun_resets", 0ull)),
            static_cast<unsigned long long>(c.value("protocol_errors", 0ull)));
      }
    }
  }
  const nlohmann::json& c = v["counters"];
  const nlohmann::json& ops = c["ops"];
  printf("  live:       %s read IOPS, %s write IOPS, p50 %s, p99 %s\n",
         HumanCount(Field<uint64_t>(v, "read_iops", 0)).c_str(),
         HumanCount(Field<uint64_t>(v, "write_iops", 0)).c_str(),
         HumanLatency(Field<uint64_t>(v, "latency_p50_us", 0)).c_str(),
         HumanLatency(Field<uint64_t>(v, "latency_p99_us", 0)).c_str());
  printf(
      "  total:      %s reads (%s), %s writes (%s), %s flushes, %s discards\n",
      HumanCount(ops.value("read", 0ull)).c_str(), HumanBytes(c.value("bytes_read", 0ull)).c_str(),
      HumanCount(ops.value("write", 0ull)).c_str(),
      HumanBytes(c.value("bytes_written", 0ull)).c_str(),
      HumanCount(ops.value("flush", 0ull)).c_str(), HumanCount(ops.value("discard", 0ull)).c_str());
  printf("  latency:    p50 %s, p99 %s, p99.9 %s since attach\n",
         HumanLatency(c.value("latency_p50_us", 0ull)).c_str(),
         HumanLatency(c.value("latency_p99_us", 0ull)).c_str(),
         HumanLatency(c.value("latency_p999_us", 0ull)).c_str());
  printf("  errors:     %llu, in flight %llu\n",
         static_cast<unsigned long long>(c.value("errors", 0ull)),
         static_cast<unsigned long long>(c.value("in_flight", 0ull)));
}

}  // namespace

int RunDetach(const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("usage: isergw detach DEVICE|NAME [--force]");
  const nlohmann::json request = {{"op", "detach"}, {"volume", args[0]}, {"force", FLAGS_force}};
  auto reply = gateway::CallDaemon(ControlSocketPath(), request, kDetachTimeout);
  if (!reply.ok()) return ReportFailure(reply.status());
  if (FLAGS_json) {
    reply->erase("ok");
    PrintJson(*reply);
  }
  return 0;
}

int RunList(const std::vector<std::string>& args) {
  if (!args.empty()) return Usage("usage: isergw list [--json]");
  auto reply = gateway::CallDaemon(ControlSocketPath(), {{"op", "list"}}, kQueryTimeout);
  if (!reply.ok()) return ReportFailure(reply.status());
  if (FLAGS_json) {
    reply->erase("ok");
    PrintJson(*reply);
    return 0;
  }
  const nlohmann::json& volumes = (*reply)["volumes"];
  if (volumes.empty()) {
    printf("no volumes attached\n");
    return 0;
  }
  printf("%-13s %-20s %-9s %-9s %-12s %10s %9s %9s %8s  %s\n", "DEVICE", "NAME", "TRANSPORT",
         "STATE", "PATH", "SIZE", "READ/S", "WRITE/S", "P99", "URL");
  for (const nlohmann::json& v : volumes) {
    const std::string device = Field<std::string>(v, "device", "");
    printf("%-13s %-20s %-9s %-9s %-12s %10s %9s %9s %8s  %s\n",
           device.empty() ? "-" : device.c_str(), Field<std::string>(v, "name", "").c_str(),
           Field<std::string>(v, "transport", "").c_str(),
           Field<std::string>(v, "state", "").c_str(), Field<std::string>(v, "path", "-").c_str(),
           HumanBytes(Field<uint64_t>(v, "size_bytes", 0)).c_str(),
           HumanCount(Field<uint64_t>(v, "read_iops", 0)).c_str(),
           HumanCount(Field<uint64_t>(v, "write_iops", 0)).c_str(),
           HumanLatency(Field<uint64_t>(v, "latency_p99_us", 0)).c_str(),
           Field<std::string>(v, "url", "").c_str());
  }
  return 0;
}

int RunStatus(const std::vector<std::string>& args) {
  if (args.size() > 1) return Usage("usage: isergw status [DEVICE|NAME] [--json | --prometheus]");
  nlohmann::json request = {{"op", "status"}, {"prometheus", FLAGS_prometheus}};
  if (!args.empty()) request["volume"] = args[0];
  auto reply = gateway::CallDaemon(ControlSocketPath(), request, kQueryTimeout);
  if (!reply.ok()) return ReportFailure(reply.status());
  if (FLAGS_prometheus) {
    printf("%s", Field<std::string>(*reply, "prometheus", "").c_str());
    return 0;
  }
  if (FLAGS_json) {
    reply->erase("ok");
    PrintJson(*reply);
    return 0;
  }
  for (const nlohmann::json& v : (*reply)["volumes"]) PrintVolumeDetail(v);
  return 0;
}

int RunSet(const std::vector<std::string>& args) {
  constexpr char kSetUsage[] = "usage: isergw set DEVICE|NAME replacement-timeout=SECONDS";
  if (args.size() != 2) return Usage(kSetUsage);
  const size_t eq = args[1].find('=');
  if (eq == std::string::npos) return Usage(kSetUsage);
  const nlohmann::json request = {{"op", "set"},
                                  {"volume", args[0]},
                                  {"key", args[1].substr(0, eq)},
                                  {"value", args[1].substr(eq + 1)}};
  auto reply = gateway::CallDaemon(ControlSocketPath(), request, kQueryTimeout);
  if (!reply.ok()) return ReportFailure(reply.status());
  if (FLAGS_json) {
    reply->erase("ok");
    PrintJson(*reply);
  }
  return 0;
}

}  // namespace isergw::cli
