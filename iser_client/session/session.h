#ifndef ISER_CLIENT_SESSION_SESSION_H_
#define ISER_CLIENT_SESSION_SESSION_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "iser_client/login/login_machine.h"
#include "iser_client/login/send_targets.h"
#include "iser_client/login/session_params.h"
#include "iser_client/login/text_params.h"
#include "iser_client/pdu/bhs.h"
#include "iser_client/session/scsi_request.h"
#include "iser_client/session/session_stats.h"
#include "iser_client/session/task_table.h"
#include "iser_client/transport/transport.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::iscsi {

using TransportFactory =
    std::function<std::unique_ptr<Transport>(uring::EventLoop*, TransportListener*)>;

struct SessionConfig {
  LoginConfig login;            // names, session type, ISID, CHAP, negotiation options
  uint32_t max_commands = 128;  // SCSI commands in flight at once (task slots)
  uint32_t initial_cmd_sn = 1;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration login_timeout = absl::Seconds(15);
  // A NOP-Out ping goes out after this long without a PDU from the target;
  // no answer within nop_timeout declares the connection dead.
  absl::Duration nop_interval = absl::Seconds(5);
  absl::Duration nop_timeout = absl::Seconds(10);
  // A command older than this is aborted (ABORT TASK, then LOGICAL UNIT
  // RESET, then the session is dropped).
  absl::Duration command_timeout = absl::Seconds(30);
  absl::Duration task_mgmt_timeout = absl::Seconds(10);
  int max_redirects = 4;
};

class SessionObserver {
 public:
  // The login finished: full feature phase, or why not.
  virtual void OnLoginComplete(const absl::Status& status) = 0;
  // The logged-in session died (transport error, protocol error, ping
  // timeout, target-requested drop). Every command has been failed.
  virtual void OnSessionFailed(const absl::Status& status) = 0;
  // Logout finished (after Logout() or a target's request to log out).
  virtual void OnLoggedOut() {}

 protected:
  ~SessionObserver() = default;
};

// One iSCSI session with one connection: login, then the full-feature phase
// (RFC 7143), on one EventLoop thread. Asynchronous and pipelined: Submit()
// queues a command, completion comes through the request's callback from the
// loop. Commands beyond the target's CmdSN window wait in order, without
// allocation. The transport (TCP or iSER) is behind the Transport interface.
class Session final : private TransportListener, private uring::Timer {
 public:
  enum class State : uint8_t {
    kIdle,         // nothing started
    kConnecting,   // transport connect in flight
    kLoggingIn,    // login PDUs exchanged
    kFullFeature,  // commands flow
    kLoggingOut,   // logout request sent
    kLoggedOut,    // cleanly closed
    kFailed,       // connection lost or login failed; see failure()
  };

  Session(uring::EventLoop* loop, TransportFactory transport_factory, SessionConfig config,
          SessionObserver* observer);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects and logs in; the observer hears OnLoginComplete().
  void Login(const Endpoint& endpoint);
  // Queues a SCSI command. Fails at once (without calling `done`) when the
  // session is not in full feature phase or every slot is busy.
  absl::Status Submit(ScsiRequest* request);
  // Discovery sessions: SendTargets=All, continued over as many Text
  // responses as the target needs. `done` runs from the loop.
  void SendTargets(std::function<void(absl::StatusOr<std::vector<DiscoveredTarget>>)> done);
  // Logs out (waiting for in-flight commands is the caller's business).
  void Logout();
  // Drops the connection now, failing every command.
  void Abort(absl::Status why);

  State state() const { return state_; }
  const absl::Status& failure() const { return failure_; }
  const SessionParams& params() const { return params_; }
  const SessionStats& stats() const { return stats_; }
  const Endpoint& endpoint() const { return endpoint_; }
  uint16_t tsih() const { return tsih_; }
  const std::array<uint8_t, 6>& isid() const { return config_.login.isid; }
  uint32_t commands_in_flight() const { return commands_in_flight_; }
  // The target asked this session to log out: it takes no new commands.
  bool logout_requested() const { return logout_requested_; }
  const Transport* transport() const { return transport_.get(); }

 private:
  enum class TaskKind : uint8_t { kScsi, kNopOut, kTaskMgmt, kText, kLogout, kLogin };
  enum class TaskState : uint8_t { kQueued, kIssued, kAborting };
  struct Task {
    TaskKind kind = TaskKind::kScsi;
    TaskState state = TaskState::kQueued;
    ScsiRequest* request = nullptr;
    uint32_t itt = 0;
    uint32_t cmd_sn = 0;
    uint32_t next_queued = kNoTask;  // FIFO of commands waiting for the window
    uint64_t issued_ns = 0;
    uint32_t data_in_bytes = 0;
    uint32_t expected_data_sn = 0;
    uint32_t referenced_itt = kReservedTag;  // task management: the task aborted
    uint8_t tmf_function = 0;                // task management: what was asked
    CommandBuffer buffer;
  };
  static constexpr uint32_t kNoTask = 0xffffffff;

  // TransportListener
  void OnConnected(absl::Status status) override;
  void OnPdu(const IncomingPdu& pdu) override;
  void OnTransportError(absl::Status status) override;
  // Timer: the session's periodic tick (NOP pings, command timeouts, login).
  void OnTimer() override;

  // session_login.cc
  void StartConnect();
  void SendLoginRequest(LoginRequestStep step);
  void HandleLoginResponse(const IncomingPdu& pdu);
  void FinishLogin(absl::Status status);
  void HandleTextResponse(const IncomingPdu& pdu);
  void HandleLogoutResponse(const IncomingPdu& pdu);

  // session.cc: the full-feature data path
  void Issue(Task& task);
  void IssueScsiCommand(Task& task);
  void SendDataOut(Task& task, uint32_t ttt, uint32_t offset, uint32_t length);
  void DrainQueued();
  void HandleDataIn(const IncomingPdu& pdu);
  void HandleScsiResponse(const IncomingPdu& pdu);
  void HandleR2t(const IncomingPdu& pdu);
  void HandleNopIn(const IncomingPdu& pdu);
  void HandleAsyncMessage(const IncomingPdu& pdu);
  void HandleReject(const IncomingPdu& pdu);
  void HandleTaskMgmtResponse(const IncomingPdu& pdu);
  void CompleteScsi(Task& task, const ScsiResult& result);
  void FailAllTasks(const absl::Status& status);
  void UpdateWindow(uint32_t exp_cmd_sn, uint32_t max_cmd_sn);
  void UpdateStatSn(uint32_t stat_sn);
  void ProtocolError(absl::Status status);
  void EnterFailed(absl::Status status);
  bool WindowOpen() const;
  // Encodes `header` and hands it, with its data segment, to the transport.
  template <typename Header>
  void SendPdu(const Header& header, std::span<const uint8_t> data = {},
               const CommandBuffer* command = nullptr) {
    uint8_t bhs[kBhsSize];
    Encode(header, BhsBytes(bhs, kBhsSize));
    transport_->Send(OutgoingPdu{std::span<const uint8_t>(bhs, kBhsSize), data, command});
  }

  // session_timers.cc: liveness and command timeouts
  void CheckTimeouts();
  void SendNopPing();
  void SendTaskMgmt(uint8_t function, uint64_t lun, uint32_t referenced_itt);

  uring::EventLoop* loop_;
  TransportFactory transport_factory_;
  SessionConfig config_;
  SessionObserver* observer_;
  std::unique_ptr<Transport> transport_;
  // Transports closed from inside one of their own callbacks wait here until
  // the next tick, so that no object is destroyed under its caller.
  std::vector<std::unique_ptr<Transport>> retired_transports_;
  State state_ = State::kIdle;
  absl::Status failure_;
  Endpoint endpoint_;
  int redirects_ = 0;

  std::optional<LoginMachine> login_;
  std::string login_text_;  // data of the login request in flight
  uint32_t login_itt_ = 0;
  uint64_t login_deadline_ns_ = 0;
  uint16_t tsih_ = 0;
  SessionParams params_;
  uint32_t max_send_segment_ = 8192;

  TaskTable<Task> tasks_;
  uint32_t queued_head_ = kNoTask;
  uint32_t queued_tail_ = kNoTask;
  uint32_t commands_in_flight_ = 0;
  uint32_t cmd_sn_ = 1;
  uint32_t exp_cmd_sn_ = 1;
  uint32_t max_cmd_sn_ = 1;
  uint32_t exp_stat_sn_ = 0;

  uint64_t last_rx_ns_ = 0;
  uint32_t nop_itt_ = kReservedTag;
  uint64_t nop_sent_ns_ = 0;
  uint32_t tmf_itt_ = kReservedTag;
  bool logout_requested_ = false;  // by the target (Async Message event 1)

  TextAccumulator text_in_;
  std::string text_out_;
  std::function<void(absl::StatusOr<std::vector<DiscoveredTarget>>)> send_targets_done_;

  SessionStats stats_;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_SESSION_SESSION_H_
