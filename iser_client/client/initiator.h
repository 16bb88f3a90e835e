#ifndef ISER_CLIENT_CLIENT_INITIATOR_H_
#define ISER_CLIENT_CLIENT_INITIATOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/scsi/sense.h"
#include "iser_client/session/session.h"
#include "iser_client/transport/iser_options.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::iscsi {

// Where and how to log in.
struct InitiatorOptions {
  Endpoint endpoint;
  std::string target_name;  // empty for a discovery session
  TransportKind transport = TransportKind::kTcp;
  // iSER only: strict mode, busy polling (the CLI's --strict-rdma, --busy-poll).
  IserOptions iser;
  std::string initiator_name;
  std::optional<ChapCredentials> chap;
  SessionConfig session;  // timeouts, queue depth, negotiation (login.* filled in here)
};

// The outcome of one SCSI command run to completion, retries included.
struct CommandOutcome {
  uint8_t scsi_status = 0;
  std::optional<scsi::SenseData> sense;
  uint32_t residual = 0;
};

// A logged-in session driven synchronously: for tools and set-up paths
// (probing a LUN, discovery), not for the data path, which calls
// Session::Submit() from its own loop. It runs `loop` until each call is done.
class Initiator final : private SessionObserver {
 public:
  // Connects and logs in; the error says why not (tagged with a FailureKind).
  static absl::StatusOr<std::unique_ptr<Initiator>> Login(uring::EventLoop* loop,
                                                          InitiatorOptions options);
  ~Initiator();

  // Runs one command to completion, retrying what SCSI says to retry (UNIT
  // ATTENTION, BUSY, TASK SET FULL) a bounded number of times; CHECK
  // CONDITIONs that are not retried become an error naming the sense.
  absl::StatusOr<CommandOutcome> Execute(uint64_t lun, const scsi::Cdb& cdb,
                                         DataDirection direction, std::span<uint8_t> buffer,
                                         absl::Duration timeout = absl::Seconds(60));
  absl::StatusOr<std::vector<DiscoveredTarget>> SendTargets(
      absl::Duration timeout = absl::Seconds(30));
  // Logs out cleanly (best effort: the session is gone either way).
  absl::Status Logout(absl::Duration timeout = absl::Seconds(10));

  Session& session() { return *session_; }
  uring::EventLoop* loop() { return loop_; }
  // Set when the session died after login.
  const absl::Status& session_failure() const { return session_failure_; }

 private:
  explicit Initiator(uring::EventLoop* loop) : loop_(loop) {}
  void OnLoginComplete(const absl::Status& status) override;
  void OnSessionFailed(const absl::Status& status) override;
  void OnLoggedOut() override { logged_out_ = true; }

  uring::EventLoop* loop_;
  std::unique_ptr<Session> session_;
  std::optional<absl::Status> login_result_;
  absl::Status session_failure_;
  bool logged_out_ = false;
};

// The session configuration `options` describe: names, CHAP, negotiation
// (iSER keys included for iSER), a random ISID unless one is set.
SessionConfig MakeSessionConfig(const InitiatorOptions& options);

// Creates transports of one kind for a Session; `iser` applies to iSER ones.
absl::StatusOr<TransportFactory> MakeTransportFactory(TransportKind kind,
                                                      const IserOptions& iser = IserOptions());
// The same for `options` (its transport kind and iSER options; the receive
// slots sized to the InitiatorRecvDataSegmentLength MakeSessionConfig declares).
absl::StatusOr<TransportFactory> MakeTransportFactory(const InitiatorOptions& options);

// A random ISID of the "random" type (RFC 7143 10.12.5: T = 11b).
Isid RandomIsid();

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_CLIENT_INITIATOR_H_
