#include "nbd/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <glog/logging.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "iser_client/uring/event_loop.h"
#include "nbd/connection.h"

namespace isergw::nbd {
namespace {

absl::Status Errno(const std::string& what) {
  const int error = errno;
  std::string message = absl::StrCat(what, ": ", strerror(error));
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  if (error == EADDRINUSE) {
    return absl::AlreadyExistsError(message);
  }
  return absl::InternalError(message);
}

}  // namespace

void ServeConnection(int fd, ublk::Backend* backend, const ExportInfo* info,
                     const ConnectionOptions& options, std::atomic<bool>* done,
                     absl::Status* result) {
  uring::EventLoop::Options loop_options;
  loop_options.entries = 256;
  auto loop = uring::EventLoop::Create(loop_options);
  if (!loop.ok()) {
    LOG(ERROR) << "NBD connection: " << loop.status().message();
    shutdown(fd, SHUT_RDWR);
    done->store(true);
    return;
  }
  {
    Connection connection(fd, loop->get(), backend, info, options);
    absl::Status started = connection.Start();
    if (!started.ok()) {
      LOG(ERROR) << "NBD connection cannot start: " << started.message();
    } else {
      // The iSCSI login (or whatever the backend opens per queue) happens
      // only once the client chose the export, and here, between passes.
      for (;;) {
        absl::Status ran =
            (*loop)->RunUntil([&] { return connection.finished() || connection.wants_queue(); });
        if (!ran.ok()) {
          LOG(ERROR) << "NBD connection loop: " << ran.message();
          break;
        }
        if (connection.finished()) {
          break;
        }
        connection.OpenQueue();
      }
      if (!connection.result().ok()) {
        LOG(WARNING) << "NBD connection ended: " << connection.result().message();
      }
      if (result != nullptr) *result = connection.result();
    }
  }
  // The client sees the end now; the fd itself is closed by the listener
  // thread once this thread is joined.
  shutdown(fd, SHUT_RDWR);
  done->store(true, std::memory_order_release);
}

std::string UriEscape(const std::string& text, bool keep_slash) {
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Server>> Server::Listen(ublk::Backend* backend,
                                                       const ServerOptions& options) {
  std::unique_ptr<Server> server(new Server());
  server->backend_ = backend;
  server->options_ = options;
  server->export_ = ExportInfoFor(backend->geometry(), options.export_name, backend->Describe());
  if (options.export_name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError("export name is longer than 4096 bytes");
  }
  if (options.unix_path.empty() == (options.tcp_port < 0)) {
    return absl::InvalidArgumentError("give either a Unix socket path or a TCP port");
  }
  if (!options.unix_path.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (options.unix_path.size() >= sizeof(addr.sun_path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("socket path is too long (", options.unix_path.size(), " bytes)"));
    }
    std::memcpy(addr.sun_path, options.unix_path.data(), options.unix_path.size());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return Errno("socket");
    }
    server->listen_fd_ = fd;
    // A socket file nobody listens on is left over from a dead server.
    struct stat st;
    if (lstat(options.unix_path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        return absl::AlreadyExistsError(
            absl::StrCat(options.unix_path, " exists and is not a socket"));
      }
      const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const bool live =
          probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      if (probe >= 0) {
        close(probe);
      }
      if (live) {
        return absl::AlreadyExistsError(
            absl::StrCat(options.unix_path, " is in use by another server"));
      }
      unlink(options.unix_path.c_str());
    }
    // Root-only from the moment it exists: no window with wider permissions.
    const mode_t old_mask = umask(0177);
    const int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    umask(old_mask);
    if (bound != 0) {
      return Errno(absl::StrCat("bind ", options.unix_path));
    }
  } else {
    if (options.tcp_port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("port ", options.tcp_port, " is out of range"));
    }
    in6_addr v6{};
    in_addr v4{};
    const bool is_v6 = inet_pton(AF_INET6, options.bind_address.c_str(), &v6) == 1;
    if (!is_v6 && inet_pton(AF_INET, options.bind_address.c_str(), &v4) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("bind address '", options.bind_address, "' is not an IP address"));
    }
    const int fd = socket(is_v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return Errno("socket");
    }
    server->listen_fd_ = fd;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int bound;
    if (is_v6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_addr = v6;
      addr.sin6_port = htons(static_cast<uint16_t>(options.tcp_port));
      bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr = v4;
      addr.sin_port = htons(static_cast<uint16_t>(options.tcp_port));
      bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    }
    if (bound != 0) {
      return Errno(absl::StrCat("bind ", options.bind_address, " port ", options.tcp_port));
    }
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
    server->port_ = ntohs(is_v6 ? reinterpret_cast<sockaddr_in6*>(&local)->sin6_port
                                : reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  }
  if (listen(server->listen_fd_, 64) != 0) {
    return Errno("listen");
  }
  return server;
}

Server::~Server() { Stop(); }

std::string Server::uri() const {
  if (!options_.unix_path.empty()) {
    return absl::StrCat("nbd+unix:///", UriEscape(options_.export_name, false),
                        "?socket=", UriEscape(options_.unix_path, true));
  }
  std::string host = options_.bind_address;
  if (host.find(':') != std::string::npos) {
    host = absl::StrCat("[", host, "]");
  }
  return absl::StrCat("nbd://", host, ":", port_, "/", UriEscape(options_.export_name, false));
}

absl::Status Server::Serve(int stop_fd) {
  pollfd fds[2] = {{stop_fd, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
  for (;;) {
    // Wakes up now and then to join threads of connections that ended.
    const int n = poll(fds, 2, 1000);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Errno("poll");
    }
    Reap(false);
    if (fds[0].revents & POLLIN) {
      break;
    }
    if (fds[1].revents & POLLIN) {
      Accept();
    }
  }
  Stop();
  return absl::OkStatus();
}

void Server::Accept() {
  const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
      PLOG(WARNING) << "NBD accept";
    }
    return;
  }
  if (workers_.size() >= options_.max_connections) {
    LOG(WARNING) << "NBD: " << workers_.size() << " clients already; refusing another";
    close(fd);
    return;
  }
  if (options_.unix_path.empty()) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  auto worker = std::make_unique<Worker>();
  worker->fd = fd;
  Worker* w = worker.get();
  ConnectionOptions connection;
  connection.queue_id = next_queue_id_++;
  connection.depth = options_.depth;
  connection.handshake_timeout = options_.handshake_timeout;
  w->thread = std::thread(ServeConnection, fd, backend_, &export_, connection, &w->done, nullptr);
  workers_.push_back(std::move(worker));
  ++connections_served_;
}

void Server::Reap(bool all) {
  for (auto it = workers_.begin(); it != workers_.end();) {
    Worker& w = **it;
    if (all || w.done.load(std::memory_order_acquire)) {
      w.thread.join();
      close(w.fd);  // only now: the fd number cannot be reused under the thread
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void Server::Stop() {
  if (stopped_) {
    return;
  }
  stopped_ = true;
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
  // Ends the clients' request streams: each connection finishes what the
  // backend has and sends those replies, then ends. Clients that do not
  // read their replies get their sockets shut down completely after 5 s.
  for (auto& w : workers_) {
    shutdown(w->fd, SHUT_RD);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (;;) {
    bool all_done = true;
    for (auto& w : workers_) {
      all_done = all_done && w->done.load(std::memory_order_acquire);
    }
    if (all_done || absl::Now() > deadline) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& w : workers_) {
    if (!w->done.load(std::memory_order_acquire)) {
      shutdown(w->fd, SHUT_RDWR);
    }
  }
  Reap(true);
  if (!options_.unix_path.empty()) {
    unlink(options_.unix_path.c_str());
  }
}

}  // namespace isergw::nbd
