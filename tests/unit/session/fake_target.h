// A scripted fake target for Session tests: a Transport that records every
// PDU the session sends and lets the test play the target by injecting PDUs
// into the session's TransportListener. No network; timers run on a real
// uring::EventLoop.
#ifndef TESTS_UNIT_SESSION_FAKE_TARGET_H_
#define TESTS_UNIT_SESSION_FAKE_TARGET_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "iser_client/login/text_params.h"
#include "iser_client/pdu/bhs.h"
#include "iser_client/session/session.h"
#include "iser_client/transport/transport.h"
#include "iser_client/uring/event_loop.h"

namespace isergw::iscsi::testing {

// One PDU as the session handed it to Send(), copied at Send() time.
struct SentPdu {
  std::array<uint8_t, kBhsSize> bhs{};
  std::vector<uint8_t> data;
  bool has_command = false;
  CommandBuffer command;

  Opcode opcode() const { return Opcode(bhs[0] & kOpcodeMask); }
  bool immediate() const { return (bhs[0] & kImmediateBit) != 0; }
  ConstBhsBytes header() const { return ConstBhsBytes(bhs.data(), kBhsSize); }
  uint32_t itt() const { return PeekItt(header()); }
  std::string text() const { return std::string(data.begin(), data.end()); }
  TextPairs pairs() const;

  // Decoders that fail the test (and return a default header) on a bad PDU.
  ScsiCommandHeader AsScsiCommand() const;
  DataOutHeader AsDataOut() const;
  NopOutHeader AsNopOut() const;
  TaskMgmtRequestHeader AsTaskMgmt() const;
  LoginRequestHeader AsLogin() const;
  TextRequestHeader AsText() const;
  LogoutRequestHeader AsLogout() const;
};

// What the fake transport saw; owned by the test so it outlives the
// transports the session creates and destroys.
struct Wire {
  TransportListener* listener = nullptr;
  int transports_created = 0;
  int transports_destroyed = 0;
  int connect_calls = 0;
  bool closed = false;
  bool full_feature = false;
  FullFeatureLimits limits;
  Endpoint endpoint;
  bool moves_data_by_rdma = false;
  // When false, Send() keeps only the last BHS (for the allocation test).
  bool record = true;
  std::vector<SentPdu> sent;
  std::array<uint8_t, kBhsSize> last_bhs{};
  uint64_t send_calls = 0;
};

class FakeTransport final : public Transport {
 public:
  FakeTransport(Wire* wire, TransportListener* listener);
  ~FakeTransport() override;

  TransportKind kind() const override { return TransportKind::kTcp; }
  bool MovesDataByRdma() const override { return wire_->moves_data_by_rdma; }
  void Connect(const Endpoint& endpoint, absl::Duration timeout) override;
  void Send(const OutgoingPdu& pdu) override;
  void EnterFullFeaturePhase(const FullFeatureLimits& limits) override;
  void Close() override;
  const TransportStats& stats() const override { return stats_; }
  std::string DescribePeer() const override { return "fake-target"; }

 private:
  Wire* wire_;
  TransportStats stats_;
};

// Records what the session told its observer.
struct RecordingObserver final : SessionObserver {
  int login_complete_calls = 0;
  absl::Status login_status;
  int failed_calls = 0;
  absl::Status failed_status;
  int logged_out_calls = 0;

  void OnLoginComplete(const absl::Status& status) override {
    ++login_complete_calls;
    login_status = status;
  }
  void OnSessionFailed(const absl::Status& status) override {
    ++failed_calls;
    failed_status = status;
  }
  void OnLoggedOut() override { ++logged_out_calls; }
};

// A SCSI command owned by a test, with a callback that records the result.
struct TestCommand {
  ScsiRequest request;
  std::vector<uint8_t> buffer;
  int done_calls = 0;
  absl::Status status;
  uint8_t scsi_status = 0xff;
  uint32_t residual = 0;
  bool underflow = false;
  bool overflow = false;
  std::vector<uint8_t> sense;
  // Runs inside the callback, e.g. to count completion order.
  std::function<void(TestCommand&)> on_done;

  TestCommand(DataDirection direction, uint32_t length, uint8_t opcode = 0);
  TestCommand(const TestCommand&) = delete;
  TestCommand& operator=(const TestCommand&) = delete;
  static void Done(ScsiRequest* request, const ScsiResult& result);
};

// The login keys the fake target answers with in the operational stage,
// applied over echoing the initiator's own offers.
struct TargetLoginAnswers {
  TextPairs overrides = {{"MaxRecvDataSegmentLength", "8192"}};
  uint16_t tsih = 0x1234;
  uint32_t stat_sn = 100;
  uint32_t exp_cmd_sn = 1;
  uint32_t max_cmd_sn = 64;
};

// Owns the loop, the wire, the observer and the session under test.
class SessionHarness {
 public:
  explicit SessionHarness(SessionConfig config = DefaultConfig());
  ~SessionHarness();

  static SessionConfig DefaultConfig();

  Session& session() { return *session_; }
  uring::EventLoop& loop() { return *loop_; }
  Wire& wire() { return wire_; }
  RecordingObserver& observer() { return observer_; }

  // Login() plus OnConnected(OK): the first Login Request is on the wire.
  void StartLogin();
  // A whole successful login (security stage, then operational stage).
  // Returns false (after failing the test) if it did not complete.
  bool LoginOk(const TargetLoginAnswers& answers = {});

  // The target's StatSN counter; every status-carrying PDU built by the
  // helpers below uses and advances it.
  uint32_t NextStatSn() { return stat_sn_++; }
  uint32_t exp_cmd_sn = 1;
  uint32_t max_cmd_sn = 64;

  // Injects a target PDU (BHS encoded from `h`, data segment length set from
  // `data`, for headers that have the field). Fails the test if the
  // transport was closed.
  template <typename Header>
  void Deliver(Header h, std::span<const uint8_t> data = {}) {
    if constexpr (requires { h.data_segment_length; }) {
      h.data_segment_length = static_cast<uint32_t>(data.size());
    }
    uint8_t bhs[kBhsSize];
    Encode(h, BhsBytes(bhs, kBhsSize));
    DeliverRaw(std::span<const uint8_t>(bhs, kBhsSize), data);
  }
  void DeliverRaw(std::span<const uint8_t> bhs, std::span<const uint8_t> data);

  // Target PDUs with the harness's window and StatSN filled in.
  ScsiResponseHeader Response(uint32_t itt, uint8_t status = 0);
  DataInHeader DataIn(uint32_t itt, uint32_t data_sn, uint32_t offset);
  R2tHeader R2t(uint32_t itt, uint32_t ttt, uint32_t offset, uint32_t length, uint32_t r2t_sn = 0);
  NopInHeader UnsolicitedNopIn(uint32_t ttt);

  // Sent PDUs since the last call, then forgets them.
  std::vector<SentPdu> TakeSent();
  // Runs the loop until `done` or `timeout`; returns done().
  bool RunUntil(const std::function<bool()>& done, absl::Duration timeout);
  void RunFor(absl::Duration d);

  // Submits and returns the SCSI Command PDU it put on the wire.
  SentPdu SubmitAndTake(TestCommand& cmd);

 private:
  SessionConfig config_;
  std::unique_ptr<uring::EventLoop> loop_;
  Wire wire_;
  RecordingObserver observer_;
  std::unique_ptr<Session> session_;
  uint32_t stat_sn_ = 100;
};

// Text helpers.
std::span<const uint8_t> Bytes(const std::string& s);
const std::string* Find(const TextPairs& pairs, const std::string& key);

}  // namespace isergw::iscsi::testing

#endif  // TESTS_UNIT_SESSION_FAKE_TARGET_H_
