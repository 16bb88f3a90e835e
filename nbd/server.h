// The NBD listener: a Unix socket (mode 0600, the default) or a TCP port
// (bound to 127.0.0.1 unless told otherwise), and one thread per client
// connection, each with its own io_uring and its own QueueBackend, sharing
// nothing with the others (as ublk's queue threads do).
#ifndef NBD_SERVER_H_
#define NBD_SERVER_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nbd/connection.h"
#include "nbd/handshake.h"
#include "ublk/backend.h"

namespace isergw::nbd {

struct ServerOptions {
  // Exactly one of these: a Unix socket path, or a TCP port (0: any free
  // port, see Server::port()).
  std::string unix_path;
  int tcp_port = -1;
  std::string bind_address = "127.0.0.1";
  std::string export_name;
  uint16_t depth = 64;            // requests in flight per connection
  uint32_t max_connections = 64;  // more are closed at once
  absl::Duration handshake_timeout = absl::Seconds(10);
};

class Server {
 public:
  // Binds and listens; the backend must outlive the server.
  static absl::StatusOr<std::unique_ptr<Server>> Listen(ublk::Backend* backend,
                                                        const ServerOptions& options);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Accepts and serves clients until `stop_fd` (a signalfd or eventfd)
  // becomes readable; then stops (see Stop) and returns.
  absl::Status Serve(int stop_fd);

  // Closes the listener, lets every connection finish what it has with the
  // backend (sending replies where the client still listens), joins them
  // and removes the Unix socket. Idempotent.
  void Stop();

  // libnbd's URI: nbd+unix:///NAME?socket=PATH or nbd://HOST:PORT/NAME.
  std::string uri() const;
  uint16_t port() const { return port_; }
  const ExportInfo& export_info() const { return export_; }
  uint64_t connections_served() const { return connections_served_; }

 private:
  struct Worker {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  Server() = default;
  void Accept();
  void Reap(bool all);

  ublk::Backend* backend_ = nullptr;
  ServerOptions options_;
  ExportInfo export_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  bool stopped_ = false;
  uint16_t next_queue_id_ = 0;
  uint64_t connections_served_ = 0;
  std::list<std::unique_ptr<Worker>> workers_;
};

// Serves the connected socket `fd` on the calling thread (its own io_uring)
// until the connection ends, then shuts the socket down (the caller closes
// it), stores why it ended in `*result` (unless null) and sets `done`.
void ServeConnection(int fd, ublk::Backend* backend, const ExportInfo* info,
                     const ConnectionOptions& options, std::atomic<bool>* done,
                     absl::Status* result);

// Percent-encodes what is not an RFC 3986 unreserved character.
std::string UriEscape(const std::string& text, bool keep_slash);

}  // namespace isergw::nbd

#endif  // NBD_SERVER_H_
