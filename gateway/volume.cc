#include "gateway/volume.h"

#include <glog/logging.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gateway/backend_factory.h"
#include "gateway/login_options.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"

namespace isergw::gateway {
namespace {

absl::StatusOr<PathOptions> PathOptionsFor(const VolumeSpec& spec) {
  PathOptions paths;
  auto portals = ParsePortalList(spec.portals);
  if (!portals.ok()) return portals.status();
  paths.more_portals = std::move(*portals);
  paths.spread_queues = spec.spread_portals;
  paths.discover_portals = spec.discover_portals;
  paths.replacement_timeout = absl::Seconds(spec.replacement_timeout_s);
  return paths;
}

struct OpenedBackend {
  std::unique_ptr<ublk::Backend> backend;
  IscsiBackend* iscsi = nullptr;
  std::string transport;
};

absl::StatusOr<OpenedBackend> OpenIscsi(const VolumeSpec& spec, const iscsi::ParsedUrl& url,
                                        iscsi::TransportKind kind, const VolumeEnvironment& env) {
  auto options = LoginOptionsFor(spec, url, kind, env.config_dir);
  if (!options.ok()) return options.status();
  auto paths = PathOptionsFor(spec);
  if (!paths.ok()) return paths.status();
  auto lun = IscsiBackend::Open(std::move(*options), url.lun, *paths);
  if (!lun.ok()) return lun.status();
  const iscsi::LunInfo& info = (*lun)->lun_info();
  if (absl::Status same = CheckSameLun({spec.lun_serial, spec.lun_wwn}, {info.serial, info.wwn},
                                       iscsi::FormatPortal(url.host, url.port));
      !same.ok()) {
    return same;
  }
  OpenedBackend opened;
  opened.iscsi = lun->get();
  opened.backend = std::move(*lun);
  opened.transport = iscsi::TransportKindName(kind);
  return opened;
}

absl::StatusOr<OpenedBackend> OpenVolumeBackend(const VolumeSpec& spec,
                                                const VolumeEnvironment& env) {
  auto url = iscsi::ParseUrl(spec.url);
  if (!url.ok()) return url.status();
  if (!url->IsIscsi()) {
    BackendOptions options;
    options.block_size = spec.block_size;
    auto local = OpenBackend(*url, options);
    if (!local.ok()) return local.status();
    OpenedBackend opened;
    opened.backend = std::move(*local);
    opened.transport = url->scheme == iscsi::ParsedUrl::Scheme::kMem ? "mem" : "file";
    return opened;
  }
  const iscsi::TransportKind from_url = url->scheme == iscsi::ParsedUrl::Scheme::kIser
                                            ? iscsi::TransportKind::kIser
                                            : iscsi::TransportKind::kTcp;
  switch (spec.transport) {
    case TransportChoice::kFromUrl:
      return OpenIscsi(spec, *url, from_url, env);
    case TransportChoice::kIser:
      return OpenIscsi(spec, *url, iscsi::TransportKind::kIser, env);
    case TransportChoice::kTcp:
      return OpenIscsi(spec, *url, iscsi::TransportKind::kTcp, env);
    case TransportChoice::kAuto: {
      auto iser = OpenIscsi(spec, *url, iscsi::TransportKind::kIser, env);
      if (iser.ok()) return iser;
      // A refused login (CHAP, no such target) fails the same over TCP:
      // only a missing or unreachable RDMA path is worth the fallback.
      const iscsi::FailureKind kind = iscsi::GetFailureKind(iser.status());
      if (kind == iscsi::FailureKind::kAuthFailed ||
          kind == iscsi::FailureKind::kAuthorizationFailed ||
          kind == iscsi::FailureKind::kTargetNotFound || kind == iscsi::FailureKind::kLunNotFound ||
          kind == iscsi::FailureKind::kInvalidArgument) {
        return iser.status();
      }
      LOG(WARNING) << spec.name << ": iSER did not work (" << iser.status().message()
                   << "), falling back to TCP";
      return OpenIscsi(spec, *url, iscsi::TransportKind::kTcp, env);
    }
  }
  return absl::InvalidArgumentError("unknown transport choice");
}

// Rates between two samples.
struct Rates {
  double read_iops = 0, write_iops = 0, read_bps = 0, write_bps = 0;
  uint64_t p50_us = 0, p99_us = 0;
};

Rates RatesBetween(absl::Time earlier_at, const ublk::IoStatsSnapshot& earlier, absl::Time later_at,
                   const ublk::IoStatsSnapshot& later) {
  Rates rates;
  const double seconds = absl::ToDoubleSeconds(later_at - earlier_at);
  if (earlier_at == absl::InfinitePast() || seconds <= 0) return rates;
  const ublk::IoStatsSnapshot d = later.Since(earlier);
  rates.read_iops = d.ops[static_cast<int>(ublk::IoOp::kRead)] / seconds;
  rates.write_iops = d.ops[static_cast<int>(ublk::IoOp::kWrite)] / seconds;
  rates.read_bps = d.bytes_read / seconds;
  rates.write_bps = d.bytes_written / seconds;
  rates.p50_us = d.LatencyPercentileUs(0.50);
  rates.p99_us = d.LatencyPercentileUs(0.99);
  return rates;
}

nlohmann::json OpCounts(const ublk::IoStatsSnapshot& s) {
  return {{"read", s.ops[static_cast<int>(ublk::IoOp::kRead)]},
          {"write", s.ops[static_cast<int>(ublk::IoOp::kWrite)]},
          {"flush", s.ops[static_cast<int>(ublk::IoOp::kFlush)]},
          {"discard", s.ops[static_cast<int>(ublk::IoOp::kDiscard)]},
          {"write_zeroes", s.ops[static_cast<int>(ublk::IoOp::kWriteZeroes)]}};
}

std::string Isid(const std::array<uint8_t, 6>& isid) {
  std::string out;
  for (uint8_t b : isid) absl::StrAppendFormat(&out, "%02x", b);
  return out;
}

nlohmann::json ParamsJson(const iscsi::SessionParams& p) {
  return {{"header_digest", std::string(iscsi::DigestName(p.header_digest))},
          {"data_digest", std::string(iscsi::DigestName(p.data_digest))},
          {"max_recv_data_segment_length", p.MaxRecvDataSegmentLength()},
          {"max_send_data_segment_length", p.MaxSendDataSegmentLength()},
          {"max_burst_length", p.max_burst_length},
          {"first_burst_length", p.first_burst_length},
          {"immediate_data", p.immediate_data},
          {"initial_r2t", p.initial_r2t},
          {"max_outstanding_r2t", p.max_outstanding_r2t},
          {"error_recovery_level", p.error_recovery_level},
          {"rdma_extensions", p.rdma_extensions}};
}

}  // namespace

Volume::Volume(VolumeSpec spec, std::string transport, std::unique_ptr<ublk::Backend> backend,
               IscsiBackend* iscsi)
    : spec_(std::move(spec)),
      transport_(std::move(transport)),
      backend_(std::move(backend)),
      iscsi_(iscsi),
      attached_at_(absl::Now()) {}

Volume::~Volume() {
  if (absl::Status s = Detach(); !s.ok()) {
    LOG(ERROR) << spec_.name << ": " << s;
  }
}

absl::StatusOr<std::unique_ptr<Volume>> Volume::Attach(const VolumeSpec& spec,
                                                       const VolumeEnvironment& env,
                                                       std::optional<uint32_t> recover_id) {
  auto opened = OpenVolumeBackend(spec, env);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<Volume> volume(
      new Volume(spec, std::move(opened->transport), std::move(opened->backend), opened->iscsi));
  absl::StatusOr<std::unique_ptr<ublk::Device>> device;
  if (recover_id.has_value()) {
    device = ublk::Device::Recover(volume->backend_.get(), *recover_id);
  } else {
    ublk::DeviceOptions options;
    options.queues = spec.queues;
    options.depth = spec.depth;
    device = ublk::Device::Create(volume->backend_.get(), options);
  }
  if (!device.ok()) return device.status();
  volume->device_ = std::move(*device);
  volume->device_id_ = volume->device_->id();
  volume->recovered_ = recover_id.has_value();
  return volume;
}

const iscsi::LunInfo* Volume::lun_info() const {
  return iscsi_ != nullptr ? &iscsi_->lun_info() : nullptr;
}

int Volume::failure_fd() const { return device_ != nullptr ? device_->failure_fd() : -1; }

absl::Status Volume::failure() const {
  return device_ != nullptr ? device_->failure() : absl::OkStatus();
}

absl::Status Volume::Detach() {
  if (device_ == nullptr) return absl::OkStatus();
  // I/O queued for a lost session fails now rather than holding up the
  // device's deletion until the replacement timeout.
  if (iscsi_ != nullptr) iscsi_->recovery().give_up.store(true, std::memory_order_relaxed);
  absl::Status stopped = device_->Stop();
  device_.reset();
  return stopped;
}

absl::Status Volume::SetReplacementTimeout(uint32_t seconds) {
  if (iscsi_ == nullptr) {
    return iscsi::WithFailure(
        absl::InvalidArgumentError("replacement-timeout applies to iSCSI volumes only"),
        iscsi::FailureKind::kInvalidArgument);
  }
  VolumeSpec changed = spec_;
  changed.replacement_timeout_s = seconds;
  if (absl::Status s = ValidateVolumeSpec(changed); !s.ok()) return s;
  spec_ = std::move(changed);
  iscsi_->recovery().set_replacement_timeout(absl::Seconds(seconds));
  return absl::OkStatus();
}

nlohmann::json Volume::Recovery() const {
  if (iscsi_ == nullptr) return nullptr;
  const absl::Duration timeout = iscsi_->recovery().replacement_timeout();
  const iscsi::SessionConfig& session = iscsi_->options().session;
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  uint64_t reconnects = 0, reissued = 0, failed = 0;
  int64_t outage_ms = 0;
  bool stopped = false;
  std::string last_error;
  for (const QueueSessionInfo& s : iscsi_->sessions()) {
    const PublishedSessionCounters& c = *s.counters;
    reconnects += c.reconnects.load(std::memory_order_relaxed);
    reissued += c.reissued.load(std::memory_order_relaxed);
    failed += c.failed_while_down.load(std::memory_order_relaxed);
    const int64_t since = c.outage_since_unix_ms.load(std::memory_order_relaxed);
    if (since != 0) outage_ms = std::max(outage_ms, now_ms - since);
    stopped |= static_cast<PathState>(c.path_state.load()) == PathState::kStopped;
    if (!s.last_error.empty()) last_error = s.last_error;
  }
  const char* state = stopped                                    ? "stopped"
                      : outage_ms == 0                           ? "live"
                      : absl::Milliseconds(outage_ms) >= timeout ? "failing"
                                                                 : "reconnecting";
  return {{"state", state},
          {"replacement_timeout_seconds", absl::ToInt64Seconds(timeout)},
          {"outage_seconds", outage_ms / 1000.0},
          {"reconnects", reconnects},
          {"reissued", reissued},
          {"failed_while_down", failed},
          {"portals", FormatPortalList(iscsi_->portals())},
          // The whole timeout model of the volume's paths, in seconds.
          {"timeouts",
           {{"replacement", absl::ToDoubleSeconds(timeout)},
            {"command", absl::ToDoubleSeconds(session.command_timeout)},
            {"task_management", absl::ToDoubleSeconds(session.task_mgmt_timeout)},
            {"nop_interval", absl::ToDoubleSeconds(session.nop_interval)},
            {"nop_timeout", absl::ToDoubleSeconds(session.nop_timeout)},
            {"connect", absl::ToDoubleSeconds(session.connect_timeout)},
            {"login", absl::ToDoubleSeconds(session.login_timeout)}}},
          {"last_error", last_error}};
}

void Volume::Sample(absl::Time now) {
  if (device_ == nullptr) return;
  previous_ = latest_;
  latest_ = {now, device_->stats()};
}

nlohmann::json Volume::Summary() const {
  const Rates rates = RatesBetween(previous_.at, previous_.stats, latest_.at, latest_.stats);
  return {
      {"name", spec_.name},
      {"device", device_path()},
      {"url", spec_.url},
      {"transport", transport_},
      {"state", device_ != nullptr ? "attached" : "detached"},
      {"size_bytes", geometry().capacity_bytes},
      {"persist", spec_.persist},
      {"path", iscsi_ != nullptr ? Recovery()["state"] : nlohmann::json("local")},
      {"read_iops", static_cast<uint64_t>(rates.read_iops + 0.5)},
      {"write_iops", static_cast<uint64_t>(rates.write_iops + 0.5)},
      {"read_bytes_per_second", static_cast<uint64_t>(rates.read_bps)},
      {"write_bytes_per_second", static_cast<uint64_t>(rates.write_bps)},
      {"latency_p50_us", rates.p50_us},
      {"latency_p99_us", rates.p99_us},
  };
}

nlohmann::json Volume::Status() const {
  nlohmann::json out = Summary();
  const ublk::IoStatsSnapshot& total = latest_.stats;
  out["queues"] = spec_.queues;
  out["depth"] = spec_.depth;
  out["recovered"] = recovered_;
  out["strict_rdma"] = spec_.strict_rdma;
  out["busy_poll"] = spec_.busy_poll;
  out["attached_seconds"] = static_cast<int64_t>(absl::ToDoubleSeconds(absl::Now() - attached_at_));
  const ublk::Geometry& g = geometry();
  out["limits"] = {{"logical_block_size", g.logical_block_size},
                   {"physical_block_size", g.physical_block_size},
                   {"max_io_bytes", g.max_io_bytes},
                   {"discard_granularity", g.discard_granularity},
                   {"max_discard_bytes", g.max_discard_bytes},
                   {"max_write_zeroes_bytes", g.max_write_zeroes_bytes},
                   {"volatile_cache", g.volatile_cache},
                   {"fua", g.fua},
                   {"read_only", g.read_only}};
  out["counters"] = {{"ops", OpCounts(total)},
                     {"bytes_read", total.bytes_read},
                     {"bytes_written", total.bytes_written},
                     {"errors", total.errors},
                     {"in_flight", total.in_flight},
                     {"latency_p50_us", total.LatencyPercentileUs(0.50)},
                     {"latency_p90_us", total.LatencyPercentileUs(0.90)},
                     {"latency_p99_us", total.LatencyPercentileUs(0.99)},
                     {"latency_p999_us", total.LatencyPercentileUs(0.999)}};
  if (iscsi_ != nullptr) {
    const iscsi::LunInfo& lun = iscsi_->lun_info();
    out["lun"] = {{"lun", lun.lun},
                  {"vendor", lun.vendor},
                  {"product", lun.product},
                  {"serial", lun.serial},
                  {"wwn", lun.wwn}};
    const iscsi::InitiatorOptions& options = iscsi_->options();
    out["portal"] = iscsi::FormatPortal(options.endpoint.host, options.endpoint.port);
    out["target"] = options.target_name;
    out["initiator"] = options.initiator_name;
    out["chap"] = options.chap.has_value()
                      ? (options.chap->target_user.empty() ? "one-way" : "mutual")
                      : "none";
    nlohmann::json sessions = nlohmann::json::array();
    for (const QueueSessionInfo& s : iscsi_->sessions()) {
      nlohmann::json session = {
          {"queue", s.queue_id},
          {"isid", Isid(s.isid)},
          {"tsih", s.tsih},
          {"portal", s.portal},
          {"state", std::string(PathStateName(static_cast<PathState>(
                        s.counters->path_state.load(std::memory_order_relaxed))))},
          {"last_error", s.last_error},
          {"parameters", ParamsJson(s.params)}};
      if (s.counters != nullptr) {
        const PublishedSessionCounters& c = *s.counters;
        session["counters"] = {
            {"commands", c.commands.load(std::memory_order_relaxed)},
            {"r2ts", c.r2ts.load(std::memory_order_relaxed)},
            {"nop_pings", c.nop_pings.load(std::memory_order_relaxed)},
            {"async_messages", c.async_messages.load(std::memory_order_relaxed)},
            {"rejects", c.rejects.load(std::memory_order_relaxed)},
            {"aborts", c.aborts.load(std::memory_order_relaxed)},
            {"lun_resets", c.lun_resets.load(std::memory_order_relaxed)},
            {"protocol_errors", c.protocol_errors.load(std::memory_order_relaxed)},
            {"reconnects", c.reconnects.load(std::memory_order_relaxed)},
            {"reissued", c.reissued.load(std::memory_order_relaxed)}};
      }
      sessions.push_back(std::move(session));
    }
    out["sessions"] = std::move(sessions);
    out["recovery"] = Recovery();
  }
  return out;
}

std::string Volume::Prometheus() const {
  const ublk::IoStatsSnapshot& s = latest_.stats;
  const std::string labels =
      absl::StrCat("{volume=\"", spec_.name, "\",device=\"", device_path(), "\"}");
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    absl::StrAppend(&out, "# HELP isergw_", name, " ", help, "\n# TYPE isergw_", name,
                    " counter\nisergw_", name, labels, " ", value, "\n");
  };
  counter("reads_total", "Read requests completed.", s.ops[static_cast<int>(ublk::IoOp::kRead)]);
  counter("writes_total", "Write requests completed.", s.ops[static_cast<int>(ublk::IoOp::kWrite)]);
  counter("flushes_total", "Flush requests completed.",
          s.ops[static_cast<int>(ublk::IoOp::kFlush)]);
  counter("discards_total", "Discard requests completed.",
          s.ops[static_cast<int>(ublk::IoOp::kDiscard)]);
  counter("read_bytes_total", "Bytes read.", s.bytes_read);
  counter("written_bytes_total", "Bytes written.", s.bytes_written);
  counter("errors_total", "Requests failed.", s.errors);
  counter("reconnects_total", "Sessions re-established.",
          iscsi_ != nullptr ? Recovery()["reconnects"].get<uint64_t>() : 0);
  absl::StrAppend(&out, "# HELP isergw_in_flight Requests being served.\n",
                  "# TYPE isergw_in_flight gauge\nisergw_in_flight", labels, " ", s.in_flight,
                  "\n");
  absl::StrAppend(&out, "# HELP isergw_latency_us Request latency percentiles since attach.\n",
                  "# TYPE isergw_latency_us gauge\n");
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    absl::StrAppend(&out, "isergw_latency_us{volume=\"", spec_.name, "\",device=\"", device_path(),
                    "\",quantile=\"", q, "\"} ", s.LatencyPercentileUs(q), "\n");
  }
  return out;
}

}  // namespace isergw::gateway
