// The Unix socket the daemon listens on and the CLI talks to. The socket
// file is mode 0600 in a 0755 folder, and each peer's credentials
// (SO_PEERCRED) are checked too: only root, or the user the daemon runs as,
// may ask it anything.
#ifndef GATEWAY_CONTROL_SOCKET_H_
#define GATEWAY_CONTROL_SOCKET_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace isergw::gateway {

class ControlListener {
 public:
  // Binds `path` (creating its folder). A stale socket left by a dead
  // daemon is replaced; one a live daemon answers on is an error.
  static absl::StatusOr<std::unique_ptr<ControlListener>> Listen(const std::string& path);
  ~ControlListener();  // closes and removes the socket file

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // The next connection (non-blocking listener: -1 when there is none).
  int Accept();

 private:
  ControlListener(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// Refuses a peer that is neither root nor the daemon's own user.
absl::Status CheckPeer(int fd);

// Reads one '\n'-terminated line (without it) of at most `limit` bytes,
// waiting at most `timeout` for all of it.
absl::StatusOr<std::string> ReadLine(int fd, size_t limit, absl::Duration timeout);
// Writes `line` and a '\n'.
absl::Status WriteLine(int fd, const std::string& line);

// Ends a served connection: no more writes, then what the peer still sends
// is read and dropped (briefly) before the close. Closing over unread
// input would reset the connection and the peer could lose the reply.
void FinishConnection(int fd);

// One request to the daemon at `socket_path`, its reply (an error reply
// becomes an error Status carrying the daemon's exit code, see
// ReplyExitCode). No daemon: Unavailable, saying how to start one.
absl::StatusOr<nlohmann::json> CallDaemon(const std::string& socket_path,
                                          const nlohmann::json& request, absl::Duration timeout);

}  // namespace isergw::gateway

#endif  // GATEWAY_CONTROL_SOCKET_H_
