#include "gateway/iscsi_backend.h"

#include <glog/logging.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/iscsi_queue.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "iser_client/scsi/status.h"

namespace isergw::gateway {
namespace {

// ublksrv's default: large enough for streaming, small enough that a queue's
// registered buffers (depth x this) stay modest.
constexpr uint32_t kDefaultMaxIoBytes = 512 * 1024;
constexpr uint64_t kMaxDiscardBytes = 1u << 30;

}  // namespace

void PublishedSessionCounters::Publish(const iscsi::SessionStats& stats) {
  commands.store(stats.commands, std::memory_order_relaxed);
  r2ts.store(stats.r2ts, std::memory_order_relaxed);
  nop_pings.store(stats.nop_pings, std::memory_order_relaxed);
  async_messages.store(stats.async_messages, std::memory_order_relaxed);
  rejects.store(stats.rejects, std::memory_order_relaxed);
  aborts.store(stats.aborts, std::memory_order_relaxed);
  lun_resets.store(stats.lun_resets, std::memory_order_relaxed);
  protocol_errors.store(stats.protocol_errors, std::memory_order_relaxed);
}

void PublishedQueue::SetSession(const std::array<uint8_t, 6>& isid, uint16_t tsih,
                                std::string portal, const iscsi::SessionParams& params) {
  std::lock_guard<std::mutex> lock(mu_);
  info_.isid = isid;
  info_.tsih = tsih;
  info_.portal = std::move(portal);
  info_.params = params;
  logged_in_ = true;
}

void PublishedQueue::SetLastError(std::string error) {
  std::lock_guard<std::mutex> lock(mu_);
  info_.last_error = std::move(error);
}

std::optional<QueueSessionInfo> PublishedQueue::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!logged_in_) return std::nullopt;
  QueueSessionInfo info = info_;
  info.counters = &counters_;
  return info;
}

ublk::Geometry GeometryFor(const iscsi::LunInfo& info) {
  ublk::Geometry g;
  g.capacity_bytes = info.size_bytes();
  g.logical_block_size = info.block_size;
  g.physical_block_size = std::max(info.physical_block_size, info.block_size);
  uint64_t max_io = kDefaultMaxIoBytes;
  if (info.max_transfer_bytes() != 0)
    max_io = std::min<uint64_t>(max_io, info.max_transfer_bytes());
  g.max_io_bytes = static_cast<uint32_t>(std::max<uint64_t>(4096, max_io / 4096 * 4096));
  if (info.block_limits) {
    // VPD 0xB0's OPTIMAL TRANSFER LENGTH (GRANULARITY): what mkfs and the
    // page cache align and size I/O to (io_opt, io_min).
    const auto& limits = *info.block_limits;
    g.min_io_bytes = static_cast<uint32_t>(std::min<uint64_t>(
        uint64_t{limits.optimal_transfer_length_granularity} * info.block_size, g.max_io_bytes));
    g.optimal_io_bytes = static_cast<uint32_t>(std::min<uint64_t>(
        uint64_t{limits.optimal_transfer_length} * info.block_size, g.max_io_bytes));
  }
  if (info.supports_unmap()) {
    const auto& limits = info.block_limits;
    uint64_t granularity = limits && limits->optimal_unmap_granularity != 0
                               ? uint64_t{limits->optimal_unmap_granularity} * info.block_size
                               : info.block_size;
    uint64_t max_blocks =
        limits && limits->max_unmap_lba_count != 0 && limits->max_unmap_lba_count != 0xffffffff
            ? limits->max_unmap_lba_count
            : kMaxDiscardBytes / info.block_size;
    g.discard_granularity = static_cast<uint32_t>(granularity);
    g.max_discard_bytes =
        static_cast<uint32_t>(std::min(max_blocks * info.block_size, kMaxDiscardBytes));
  }
  // WRITE_ZEROES becomes WRITE SAME(16), offered only where the LUN states
  // its limit (VPD 0xB0): targets refuse longer ones (LIO: INVALID FIELD IN
  // CDB), and without it the kernel writes zeros itself.
  if (info.block_limits && info.block_limits->max_write_same_length != 0) {
    g.max_write_zeroes_bytes = static_cast<uint32_t>(
        std::min<uint64_t>(info.block_limits->max_write_same_length * info.block_size, 1u << 30));
  }
  // The caching mode page says whether writes sit in a volatile cache (WCE)
  // and whether FUA is honoured (DPOFUA): FUA on a LUN that does not
  // advertise it is refused (LIO). Unknown: assume a cache, which costs a
  // SYNCHRONIZE CACHE per flush and never loses data, and send no FUA (the
  // block layer then flushes instead).
  g.volatile_cache = info.caching ? info.caching->write_cache_enabled : true;
  g.fua = info.caching ? info.caching->dpofua : false;
  g.read_only = info.caching && info.caching->write_protected;
  return g;
}

IscsiBackend::IscsiBackend(iscsi::InitiatorOptions options, iscsi::LunInfo info,
                           const PathOptions& paths)
    : options_(std::move(options)),
      info_(std::move(info)),
      geometry_(GeometryFor(info_)),
      spread_queues_(paths.spread_queues) {
  portals_.push_back(options_.endpoint);
  for (iscsi::Endpoint portal : paths.more_portals) {
    if (portal.iface.empty()) portal.iface = options_.endpoint.iface;
    portals_.push_back(std::move(portal));
  }
  recovery_.set_replacement_timeout(paths.replacement_timeout);
}

namespace {

// The portals SendTargets lists for `options.target_name` beyond those
// already known. Best effort: a target that does not answer discovery just
// adds none.
std::vector<iscsi::Endpoint> DiscoveredPortals(uring::EventLoop* loop,
                                               const iscsi::InitiatorOptions& options,
                                               const std::vector<iscsi::Endpoint>& known) {
  iscsi::InitiatorOptions discovery = options;
  discovery.target_name.clear();
  std::vector<iscsi::Endpoint> found;
  auto session = iscsi::Initiator::Login(loop, discovery);
  if (!session.ok()) {
    LOG(WARNING) << "discovering the target's portals: " << session.status().message();
    return found;
  }
  auto targets = (*session)->SendTargets();
  (void)(*session)->Logout();
  if (!targets.ok()) {
    LOG(WARNING) << "discovering the target's portals: " << targets.status().message();
    return found;
  }
  for (const iscsi::DiscoveredTarget& target : *targets) {
    if (target.name != options.target_name) continue;
    for (const iscsi::TargetPortal& portal : target.portals) {
      auto same = [&](const iscsi::Endpoint& e) {
        return e.host == portal.host && e.port == portal.port;
      };
      if (std::any_of(known.begin(), known.end(), same) ||
          std::any_of(found.begin(), found.end(), same)) {
        continue;
      }
      found.push_back(iscsi::Endpoint{portal.host, portal.port, options.endpoint.iface});
    }
  }
  return found;
}

}  // namespace

absl::StatusOr<std::unique_ptr<IscsiBackend>> IscsiBackend::Open(iscsi::InitiatorOptions options,
                                                                 uint32_t lun, PathOptions paths) {
  auto loop = uring::EventLoop::Create();
  if (!loop.ok()) return loop.status();
  if (paths.discover_portals) {
    std::vector<iscsi::Endpoint> known{options.endpoint};
    known.insert(known.end(), paths.more_portals.begin(), paths.more_portals.end());
    for (iscsi::Endpoint& portal : DiscoveredPortals(loop->get(), options, known)) {
      LOG(INFO) << options.target_name << ": discovered portal " << FormatPath(portal);
      paths.more_portals.push_back(std::move(portal));
    }
  }
  // The first portal that logs in; a refusal (CHAP, no such target) is the
  // target's answer, not a dead portal, and ends the search.
  std::vector<iscsi::Endpoint> portals{options.endpoint};
  for (iscsi::Endpoint portal : paths.more_portals) {
    if (portal.iface.empty()) portal.iface = options.endpoint.iface;
    portals.push_back(std::move(portal));
  }
  absl::Status first_error;
  for (size_t index = 0; index < portals.size(); ++index) {
    const iscsi::Endpoint& portal = portals[index];
    iscsi::InitiatorOptions attempt = options;
    attempt.endpoint = portal;
    auto probe = iscsi::Initiator::Login(loop->get(), attempt);
    if (!probe.ok()) {
      if (first_error.ok()) first_error = probe.status();
      if (!IsPortalFailure(probe.status())) return probe.status();
      if (portals.size() > 1) {
        LOG(WARNING) << "portal " << FormatPath(portal)
                     << " did not log in: " << probe.status().message();
      }
      continue;
    }
    auto info = iscsi::ProbeLun(**probe, lun);
    (void)(*probe)->Logout();
    if (!info.ok()) return info.status();
    std::unique_ptr<IscsiBackend> backend(
        new IscsiBackend(std::move(options), std::move(*info), paths));
    // Queues start where the probe got in, not at a portal known dead.
    backend->live_portal_ = index;
    return backend;
  }
  return first_error;
}

absl::StatusOr<std::unique_ptr<ublk::QueueBackend>> IscsiBackend::OpenQueue(
    const ublk::QueueContext& context) {
  PublishedQueue* published;
  {
    std::lock_guard<std::mutex> lock(queues_mu_);
    if (queues_.size() <= context.queue_id) queues_.resize(context.queue_id + 1);
    if (queues_[context.queue_id] == nullptr) {
      queues_[context.queue_id] = std::make_unique<PublishedQueue>(context.queue_id);
    }
    published = queues_[context.queue_id].get();
  }
  QueuePaths paths;
  paths.options = &options_;
  paths.portals = &portals_;
  paths.first_portal =
      (live_portal_ + FirstPortalIndex(context.queue_id, portals_.size(), spread_queues_)) %
      portals_.size();
  paths.recovery = &recovery_;
  paths.published = published;
  auto queue = IscsiQueue::Open(context, paths, info_);
  if (!queue.ok()) return queue.status();
  return std::unique_ptr<ublk::QueueBackend>(std::move(*queue));
}

std::vector<QueueSessionInfo> IscsiBackend::sessions() const {
  std::lock_guard<std::mutex> lock(queues_mu_);
  std::vector<QueueSessionInfo> out;
  for (const auto& queue : queues_) {
    if (queue == nullptr) continue;
    if (auto info = queue->Snapshot(); info.has_value()) out.push_back(std::move(*info));
  }
  return out;
}

absl::Duration IscsiBackend::LongestRequestHold() const {
  const iscsi::SessionConfig& session = options_.session;
  // Each attempt of a command: its timeout, then ABORT TASK and LOGICAL UNIT
  // RESET, each with its own timeout; then finding a dead session; then the
  // outage up to the replacement timeout.
  const absl::Duration attempt = session.command_timeout + 2 * session.task_mgmt_timeout;
  return (scsi::kMaxRetriesPerCommand + 1) * attempt + session.nop_interval + session.nop_timeout +
         recovery_.replacement_timeout();
}

std::string IscsiBackend::Describe() const {
  return absl::StrCat(iscsi::TransportKindName(options_.transport), " LUN ", info_.lun, " of ",
                      options_.target_name, " at ", options_.endpoint.host, ":",
                      options_.endpoint.port);
}

}  // namespace isergw::gateway
