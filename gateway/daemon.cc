#include "gateway/daemon.h"

#include <glog/logging.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gateway/control_protocol.h"
#include "gateway/device_users.h"
#include "gateway/json_fields.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/config/url.h"
#include "ublk/control.h"
#include "ublk/device.h"

namespace isergw::gateway {
namespace {

constexpr int kMaxWorkers = 32;
constexpr absl::Duration kRequestReadTimeout = absl::Seconds(5);
constexpr absl::Duration kSampleInterval = absl::Seconds(1);

// Volumes waiting for their target at start-up: tried again after 2 s,
// doubling to at most 30 s.
absl::Duration WaitingRetryDelay(int attempts) {
  return std::min(absl::Seconds(2) * (int64_t{1} << std::min(attempts, 4)), absl::Seconds(30));
}

absl::Status Invalid(std::string message) {
  return iscsi::WithFailure(absl::InvalidArgumentError(std::move(message)),
                            iscsi::FailureKind::kInvalidArgument);
}

// What makes two URLs the same volume: the LUN at a portal, or the file.
std::string VolumeIdentity(const std::string& url_text) {
  auto url = iscsi::ParseUrl(url_text);
  if (!url.ok()) return url_text;
  if (url->IsIscsi()) {
    return absl::StrCat("iscsi:", url->host, ":", url->port, "/", url->target_iqn, "/", url->lun);
  }
  if (url->scheme == iscsi::ParsedUrl::Scheme::kFile) return absl::StrCat("file:", url->path);
  return url_text;  // every mem:// is its own
}

bool DeviceExists(uint32_t id) {
  struct stat st;
  return stat(absl::StrCat("/dev/ublkc", id).c_str(), &st) == 0;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  FILE* f = fopen(temporary.c_str(), "we");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot write ", temporary));
  const bool written = fwrite(text.data(), 1, text.size(), f) == text.size();
  if (fclose(f) != 0 || !written || rename(temporary.c_str(), path.c_str()) != 0) {
    unlink(temporary.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace

Daemon::Daemon(const DaemonOptions& options)
    : options_(options), state_path_(options.state_dir + "/volumes.json") {}

Daemon::~Daemon() {
  std::unique_lock<std::mutex> lock(workers_mu_);
  workers_done_.wait(lock, [this] { return workers_ == 0; });
  lock.unlock();
  std::lock_guard<std::mutex> table(mu_);
  for (auto& [name, entry] : entries_) {
    if (entry.volume == nullptr) continue;
    if (absl::Status s = entry.volume->Detach(); !s.ok()) LOG(ERROR) << name << ": " << s;
    RemoveDeviceLinks(entry.links);
  }
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonOptions& options) {
  std::unique_ptr<Daemon> daemon(new Daemon(options));
  std::error_code error;
  std::filesystem::create_directories(options.state_dir, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create the state folder ", options.state_dir, ": ", error.message()));
  }
  chmod(options.state_dir.c_str(), 0700);
  // Listen first: a second daemon must fail here, before it touches devices.
  auto listener = ControlListener::Listen(options.socket_path);
  if (!listener.ok()) return listener.status();
  daemon->listener_ = std::move(*listener);
  auto state = LoadState(daemon->state_path_);
  if (!state.ok()) return state.status();
  daemon->Restore(*state);
  return daemon;
}

void Daemon::Restore(const DaemonState& state) {
  const bool same_boot = !state.boot_id.empty() && state.boot_id == CurrentBootId();
  for (const VolumeRecord& record : state.volumes) {
    std::optional<uint32_t> recover_id;
    if (same_boot && record.device_id.has_value() && DeviceExists(*record.device_id)) {
      recover_id = record.device_id;
    } else if (!record.spec.persist) {
      LOG(INFO) << record.spec.name << ": its device is gone and it is not persistent: forgotten";
      continue;
    }
    auto entry = AttachEntry(record.spec, recover_id);
    std::lock_guard<std::mutex> lock(mu_);
    if (entry.ok()) {
      LOG(INFO) << record.spec.name << ": " << (recover_id ? "took over " : "attached again as ")
                << entry->volume->device_path();
      ++restored_;
      entries_.emplace(record.spec.name, std::move(*entry));
    } else {
      // A bad record will not get better; anything else (the target not up
      // yet, no route, no such target or LUN yet) may, so it waits.
      // A different LUN at the address (FailedPrecondition) is not waited for.
      const bool hopeless =
          iscsi::GetFailureKind(entry.status()) == iscsi::FailureKind::kInvalidArgument ||
          entry.status().code() == absl::StatusCode::kFailedPrecondition;
      if (hopeless && recover_id.has_value()) {
        // Nobody will serve the old device: delete it, so its held I/O
        // fails instead of waiting for good.
        if (auto control = ublk::ControlDevice::Open(); control.ok()) {
          (void)(*control)->DeleteDevice(*recover_id);
        }
      }
      LOG(ERROR) << record.spec.name << ": could not be "
                 << (recover_id ? "recovered: " : "attached again: ") << entry.status()
                 << (hopeless ? "" : "; trying again with backoff");
      ++restore_failures_;
      Entry waiting{record.spec, nullptr, {}, std::string(entry.status().message())};
      waiting.waiting = !hopeless;
      waiting.recover_id = recover_id;
      waiting.next_attempt = absl::Now() + WaitingRetryDelay(0);
      entries_.emplace(record.spec.name, std::move(waiting));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = SaveLocked(); !s.ok()) LOG(ERROR) << s;
}

absl::StatusOr<Daemon::Entry> Daemon::AttachEntry(const VolumeSpec& spec,
                                                  std::optional<uint32_t> recover_id) {
  VolumeEnvironment env;
  env.config_dir = options_.config_dir;
  auto volume = Volume::Attach(spec, env, recover_id);
  if (!volume.ok()) return volume.status();
  Entry entry{spec, std::move(*volume), {}, ""};
  if (const iscsi::LunInfo* lun = entry.volume->lun_info(); lun != nullptr) {
    // Recorded, so that attaching again later refuses another LUN.
    entry.spec.lun_serial = lun->serial;
    entry.spec.lun_wwn = lun->wwn;
  }
  auto url = iscsi::ParseUrl(spec.url);
  if (url.ok()) {
    const iscsi::LunInfo* lun = entry.volume->lun_info();
    entry.links = DeviceLinksFor(options_.links_root, spec.name, *url,
                                 lun != nullptr ? lun->wwn : "", entry.volume->device_id());
    if (absl::Status s = CreateDeviceLinks(entry.links); !s.ok()) {
      LOG(WARNING) << spec.name << ": " << s;
    }
  }
  entry.volume->Sample(absl::Now());
  return entry;
}

absl::Status Daemon::SaveLocked() {
  DaemonState state;
  state.boot_id = CurrentBootId();
  for (const auto& [name, entry] : entries_) {
    VolumeRecord record{entry.spec, std::nullopt};
    if (entry.volume != nullptr) record.device_id = entry.volume->device_id();
    state.volumes.push_back(std::move(record));
  }
  return SaveState(state_path_, state);
}

std::map<std::string, Daemon::Entry>::iterator Daemon::FindLocked(const std::string& key) {
  auto it = entries_.find(key);
  if (it != entries_.end()) return it;
  auto id = ublk::ParseDevicePath(key);
  if (!id.ok()) return entries_.end();
  for (it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->second.volume != nullptr && it->second.volume->device_id() == *id) return it;
  }
  return entries_.end();
}

nlohmann::json Daemon::Handle(const nlohmann::json& request) {
  const std::string op = request.value("op", "");
  absl::StatusOr<nlohmann::json> reply;
  if (op == "attach") {
    reply = Attach(request);
  } else if (op == "detach") {
    reply = Detach(request);
  } else if (op == "list") {
    reply = List();
  } else if (op == "status") {
    reply = Status(request);
  } else if (op == "set") {
    reply = Set(request);
  } else {
    reply = Invalid(absl::StrCat("unknown request '", op, "'"));
  }
  if (!reply.ok()) return ErrorReply(reply.status());
  (*reply)["ok"] = true;
  return *reply;
}

absl::StatusOr<nlohmann::json> Daemon::Attach(const nlohmann::json& request) {
  auto spec = VolumeSpecFromJson(request.contains("volume") ? request["volume"] : nlohmann::json());
  if (!spec.ok()) return spec.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (spec->name.empty()) {
      const std::string base = DefaultVolumeName(spec->url);
      spec->name = base;
      for (int n = 2; entries_.count(spec->name) != 0 || pending_.count(spec->name) != 0; ++n) {
        spec->name = absl::StrCat(base, "-", n);
      }
    }
    if (absl::Status s = ValidateVolumeSpec(*spec); !s.ok()) return s;
    if (entries_.count(spec->name) != 0 || pending_.count(spec->name) != 0) {
      return Invalid(absl::StrCat("a volume named '", spec->name,
                                  "' is attached already: choose another --name"));
    }
    const std::string identity = VolumeIdentity(spec->url);
    const bool shared = identity.rfind("mem://", 0) != 0;  // each mem:// is its own
    auto refuse = [&](const std::string& name, const std::string& where) {
      return Invalid(
          absl::StrCat(spec->url, " is attached already as '", name, "'", where,
                       ": two devices on one LUN would corrupt it through their separate caches"));
    };
    for (const auto& [name, entry] : entries_) {
      if (shared && VolumeIdentity(entry.spec.url) == identity) {
        return refuse(name, entry.volume != nullptr
                                ? absl::StrCat(" (", entry.volume->device_path(), ")")
                                : "");
      }
    }
    for (const auto& [name, pending_identity] : pending_) {
      if (shared && pending_identity == identity) return refuse(name, " (being attached)");
    }
    pending_.emplace(spec->name, identity);
  }
  auto entry = AttachEntry(*spec, std::nullopt);
  std::lock_guard<std::mutex> lock(mu_);
  pending_.erase(spec->name);
  if (!entry.ok()) return entry.status();
  nlohmann::json reply = EntrySummary(*entry, /*detail=*/false);
  nlohmann::json links = nlohmann::json::array();
  for (const DeviceLink& link : entry->links) links.push_back(link.path);
  reply["links"] = std::move(links);
  entries_.emplace(spec->name, std::move(*entry));
  if (absl::Status s = SaveLocked(); !s.ok()) {
    LOG(ERROR) << s;
    reply["warning"] = absl::StrCat("not recorded for restarts: ", s.message());
  }
  LOG(INFO) << spec->name << ": attached " << spec->url << " as " << reply["device"];
  return reply;
}

absl::StatusOr<nlohmann::json> Daemon::Detach(const nlohmann::json& request) {
  std::string key;
  bool force = false;
  if (absl::Status s = ReadString(request, "volume", key); !s.ok())
    return Invalid(std::string(s.message()));
  if (absl::Status s = ReadBool(request, "force", force); !s.ok())
    return Invalid(std::string(s.message()));
  Entry entry;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = FindLocked(key);
    if (it == entries_.end()) {
      // iscsiadm's "no objects found" (21), as for an unknown session.
      return absl::NotFoundError(
          absl::StrCat("no volume '", key, "' is attached (see isergw list)"));
    }
    if (it->second.volume != nullptr && !force) {
      if (absl::Status s = CheckDeviceUnused(it->second.volume->device_path()); !s.ok()) {
        return iscsi::WithFailure(s, iscsi::FailureKind::kInvalidArgument);
      }
    }
    entry = std::move(it->second);
    entries_.erase(it);
    if (absl::Status s = SaveLocked(); !s.ok()) LOG(ERROR) << s;
  }
  nlohmann::json reply = {{"name", entry.spec.name}};
  if (entry.volume != nullptr) {
    reply["device"] = entry.volume->device_path();
    RemoveDeviceLinks(entry.links);
    // STOP_DEV lets the block layer drain and send its last FLUSH; the
    // queues then end and the backend flushes before the device goes.
    absl::Status detached = entry.volume->Detach();
    if (!detached.ok()) {
      return absl::Status(detached.code(),
                          absl::StrCat("detaching ", entry.spec.name, ": ", detached.message()));
    }
  }
  LOG(INFO) << entry.spec.name << ": detached";
  return reply;
}

nlohmann::json Daemon::EntrySummary(const Entry& entry, bool detail) const {
  if (entry.volume != nullptr) return detail ? entry.volume->Status() : entry.volume->Summary();
  nlohmann::json out = {{"name", entry.spec.name},
                        {"url", entry.spec.url},
                        {"device", ""},
                        {"state", entry.waiting ? "waiting" : "failed"},
                        {"error", entry.error},
                        {"persist", entry.spec.persist},
                        {"transport", std::string(TransportChoiceName(entry.spec.transport))}};
  if (entry.waiting) {
    out["attempts"] = entry.attempts + 1;
    out["next_attempt_seconds"] =
        std::max<int64_t>(0, absl::ToInt64Seconds(entry.next_attempt - absl::Now()));
  }
  return out;
}

absl::StatusOr<nlohmann::json> Daemon::Set(const nlohmann::json& request) {
  std::string key, name, value;
  for (absl::Status s : {ReadString(request, "volume", key), ReadString(request, "key", name),
                         ReadString(request, "value", value)}) {
    if (!s.ok()) return Invalid(std::string(s.message()));
  }
  if (name != "replacement-timeout") {
    return Invalid(absl::StrCat("cannot set '", name,
                                "': the setting a live volume takes is replacement-timeout"));
  }
  uint32_t seconds = 0;
  if (!absl::SimpleAtoi(value, &seconds)) {
    return Invalid(absl::StrCat("replacement-timeout takes whole seconds, not '", value, "'"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = FindLocked(key);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("no volume '", key, "' is attached (see isergw list)"));
  }
  Entry& entry = it->second;
  VolumeSpec changed = entry.spec;
  changed.replacement_timeout_s = seconds;
  if (absl::Status s = ValidateVolumeSpec(changed); !s.ok()) return s;
  if (entry.volume != nullptr) {
    if (absl::Status s = entry.volume->SetReplacementTimeout(seconds); !s.ok()) return s;
  }
  entry.spec = std::move(changed);
  nlohmann::json reply = {{"name", entry.spec.name}, {"replacement_timeout_seconds", seconds}};
  if (absl::Status s = SaveLocked(); !s.ok()) {
    LOG(ERROR) << s;
    reply["warning"] = absl::StrCat("not recorded for restarts: ", s.message());
  }
  LOG(INFO) << entry.spec.name << ": replacement timeout now " << seconds << " s";
  return reply;
}

void Daemon::RetryWaitingLocked(absl::Time now) {
  for (auto& [name, entry] : entries_) {
    if (!entry.waiting || entry.attempt_running || now < entry.next_attempt) continue;
    std::optional<uint32_t> recover_id = entry.recover_id;
    if (recover_id.has_value() && !DeviceExists(*recover_id)) recover_id.reset();
    entry.attempt_running = StartWorker([this, name = name, spec = entry.spec, recover_id] {
      RetryWaiting(name, spec, recover_id);
    });
  }
}

void Daemon::RetryWaiting(std::string name, VolumeSpec spec, std::optional<uint32_t> recover_id) {
  auto attached = AttachEntry(spec, recover_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.waiting) {
    // Detached while we tried: undo.
    if (attached.ok()) {
      RemoveDeviceLinks(attached->links);
      (void)attached->volume->Detach();
    }
    return;
  }
  Entry& entry = it->second;
  entry.attempt_running = false;
  if (!attached.ok()) {
    ++entry.attempts;
    entry.error = std::string(attached.status().message());
    entry.next_attempt = absl::Now() + WaitingRetryDelay(entry.attempts);
    // Every attempt: the backoff (at most 30 s) keeps this to a few lines a
    // minute, and each failure's own reason matters.
    LOG(WARNING) << name << ": still waiting (attempt " << entry.attempts << "): " << entry.error;
    return;
  }
  LOG(INFO) << name << ": " << (recover_id ? "took over " : "attached ")
            << attached->volume->device_path() << " after " << entry.attempts + 1 << " attempts";
  attached->spec = entry.spec;  // a `set` meanwhile
  if (attached->spec.replacement_timeout_s != spec.replacement_timeout_s) {
    (void)attached->volume->SetReplacementTimeout(attached->spec.replacement_timeout_s);
  }
  entry = std::move(*attached);
  if (absl::Status s = SaveLocked(); !s.ok()) LOG(ERROR) << s;
}

bool Daemon::StartWorker(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(workers_mu_);
    if (workers_ >= kMaxWorkers) return false;
    ++workers_;
  }
  std::thread([this, work = std::move(work)] {
    work();
    std::lock_guard<std::mutex> lock(workers_mu_);
    if (--workers_ == 0) workers_done_.notify_all();
  }).detach();
  return true;
}

nlohmann::json Daemon::List() {
  nlohmann::json volumes = nlohmann::json::array();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, entry] : entries_) volumes.push_back(EntrySummary(entry, false));
  return {{"volumes", std::move(volumes)}};
}

absl::StatusOr<nlohmann::json> Daemon::Status(const nlohmann::json& request) {
  std::string key;
  if (absl::Status s = ReadString(request, "volume", key); !s.ok())
    return Invalid(std::string(s.message()));
  bool prometheus = false;
  if (absl::Status s = ReadBool(request, "prometheus", prometheus); !s.ok())
    return Invalid(std::string(s.message()));
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<const Entry*> chosen;
  if (key.empty()) {
    for (const auto& [name, entry] : entries_) chosen.push_back(&entry);
  } else {
    auto it = FindLocked(key);
    if (it == entries_.end()) {
      // iscsiadm's "no objects found" (21), as for an unknown session.
      return absl::NotFoundError(
          absl::StrCat("no volume '", key, "' is attached (see isergw list)"));
    }
    chosen.push_back(&it->second);
  }
  nlohmann::json volumes = nlohmann::json::array();
  std::string metrics;
  for (const Entry* entry : chosen) {
    volumes.push_back(EntrySummary(*entry, true));
    if (entry->volume != nullptr) metrics += entry->volume->Prometheus();
  }
  nlohmann::json reply = {{"volumes", std::move(volumes)}};
  if (prometheus) reply["prometheus"] = metrics;
  return reply;
}

void Daemon::SampleAndWatch() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = absl::Now();
  std::string metrics;
  bool changed = false;
  for (auto& [name, entry] : entries_) {
    if (entry.volume == nullptr) continue;
    pollfd p{entry.volume->failure_fd(), POLLIN, 0};
    if (p.fd >= 0 && poll(&p, 1, 0) == 1) {
      // A queue's backend gave up for good (a different LUN answered after
      // a reconnect, a file vanished). Stop the device so nothing more is
      // written; keep the record for `list`.
      entry.error = std::string(entry.volume->failure().message());
      LOG(ERROR) << name << ": failed: " << entry.error << "; stopping "
                 << entry.volume->device_path();
      RemoveDeviceLinks(entry.links);
      (void)entry.volume->Detach();
      entry.volume.reset();
      changed = true;
      continue;
    }
    entry.volume->Sample(now);
    metrics += entry.volume->Prometheus();
  }
  if (changed) {
    if (absl::Status s = SaveLocked(); !s.ok()) LOG(ERROR) << s;
  }
  RetryWaitingLocked(now);
  if (!options_.metrics_file.empty()) {
    if (absl::Status s = WriteFileAtomically(options_.metrics_file, metrics); !s.ok()) {
      LOG_EVERY_N(WARNING, 60) << s;
    }
  }
}

void Daemon::ServeConnection(int fd) {
  nlohmann::json reply;
  absl::Status peer = CheckPeer(fd);
  if (!peer.ok()) {
    LOG(WARNING) << "control socket: " << peer.message();
    reply = ErrorReply(peer);
  } else {
    auto line = ReadLine(fd, kMaxMessageBytes, kRequestReadTimeout);
    auto request = line.ok() ? ParseRequest(*line) : absl::StatusOr<nlohmann::json>(line.status());
    if (!request.ok()) {
      absl::Status refused = Invalid(absl::StrCat("bad request: ", request.status().message()));
      LOG(WARNING) << "control socket: " << refused.message();
      reply = ErrorReply(refused);
    } else {
      reply = Handle(*request);
    }
  }
  (void)WriteLine(fd, reply.dump());
  FinishConnection(fd);
}

absl::Status Daemon::Run(int signal_fd) {
  absl::Time next_sample = absl::Now();
  for (;;) {
    const absl::Time now = absl::Now();
    if (now >= next_sample) {
      SampleAndWatch();
      next_sample = now + kSampleInterval;
    }
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {listener_->fd(), POLLIN, 0}};
    const int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(next_sample - absl::Now())) + 1;
    const int ready = poll(fds, 2, std::max(wait_ms, 0));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      (void)!read(signal_fd, &info, sizeof(info));
      LOG(INFO) << "signal " << info.ssi_signo << ": leaving, the devices stay for the next daemon";
      return absl::OkStatus();
    }
    if (!(fds[1].revents & POLLIN)) continue;
    for (int fd = listener_->Accept(); fd >= 0; fd = listener_->Accept()) {
      if (!StartWorker([this, fd] { ServeConnection(fd); })) {
        (void)WriteLine(fd, ErrorReply(absl::ResourceExhaustedError(
                                           "the daemon is busy with other requests: try again"))
                                .dump());
        close(fd);
      }
    }
  }
}

}  // namespace isergw::gateway
