#include "iser_client/client/initiator.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "iser_client/config/exit_codes.h"
#include "iser_client/scsi/status.h"
#include "iser_client/transport/iser_slots.h"
#include "iser_client/transport/iser_transport.h"
#include "iser_client/transport/tcp_transport.h"

namespace isergw::iscsi {

Isid RandomIsid() {
  Isid isid{};
  if (RAND_bytes(isid.data(), static_cast<int>(isid.size())) != 1) {
    isid = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
  }
  isid[0] = static_cast<uint8_t>(0xc0 | (isid[0] & 0x3f));  // T = 11b: random
  return isid;
}

namespace {

// The InitiatorRecvDataSegmentLength an iSER login declares and its receive
// slots hold: what the caller asks for, at most what a slot can hold.
uint32_t IserRecvDataBytes(const InitiatorOptions& options) {
  return std::min({options.session.login.negotiation.initiator_recv_data_segment_length,
                   options.iser.recv_data_bytes, SlotLayout::kDataBytes});
}

}  // namespace

absl::StatusOr<TransportFactory> MakeTransportFactory(TransportKind kind, const IserOptions& iser) {
  switch (kind) {
    case TransportKind::kTcp:
      return TransportFactory([](uring::EventLoop* loop, TransportListener* listener) {
        return std::unique_ptr<Transport>(new TcpTransport(loop, listener));
      });
    case TransportKind::kIser:
      return TransportFactory([iser](uring::EventLoop* loop, TransportListener* listener) {
        return std::unique_ptr<Transport>(new IserTransport(loop, listener, iser));
      });
  }
  absl::Status status = absl::InvalidArgumentError("unknown transport kind");
  TagFailure(status, FailureKind::kInvalidArgument);
  return status;
}

absl::StatusOr<TransportFactory> MakeTransportFactory(const InitiatorOptions& options) {
  IserOptions iser = options.iser;
  iser.recv_data_bytes = IserRecvDataBytes(options);
  return MakeTransportFactory(options.transport, iser);
}

SessionConfig MakeSessionConfig(const InitiatorOptions& options) {
  SessionConfig config = options.session;
  config.login.initiator_name = options.initiator_name;
  config.login.target_name = options.target_name;
  config.login.session_type =
      options.target_name.empty() ? SessionType::kDiscovery : SessionType::kNormal;
  config.login.chap = options.chap;
  config.login.negotiation.iser = options.transport == TransportKind::kIser;
  if (config.login.negotiation.iser) {
    // The target's Sends land in fixed iSER receive slots: declare what they
    // hold (MakeTransportFactory sizes them to this value).
    config.login.negotiation.initiator_recv_data_segment_length = IserRecvDataBytes(options);
    // Unexpected PDUs (NOP-In, Async Message, Reject) land in the receive
    // slots posted beyond one per command.
    if (config.login.negotiation.max_outstanding_unexpected_pdus == 0) {
      config.login.negotiation.max_outstanding_unexpected_pdus = SlotLayout::kExtraRecvs;
    }
  }
  if (config.login.isid == Isid{}) config.login.isid = RandomIsid();
  return config;
}

absl::StatusOr<std::unique_ptr<Initiator>> Initiator::Login(uring::EventLoop* loop,
                                                            InitiatorOptions options) {
  auto factory = MakeTransportFactory(options);
  if (!factory.ok()) return factory.status();
  SessionConfig config = MakeSessionConfig(options);

  std::unique_ptr<Initiator> initiator(new Initiator(loop));
  SessionObserver* observer = initiator.get();
  initiator->session_ =
      std::make_unique<Session>(loop, std::move(*factory), std::move(config), observer);
  initiator->session_->Login(options.endpoint);
  absl::Status ran = loop->RunUntil([&] { return initiator->login_result_.has_value(); });
  if (!ran.ok()) return ran;
  if (!initiator->login_result_->ok()) return *initiator->login_result_;
  return initiator;
}

Initiator::~Initiator() = default;

void Initiator::OnLoginComplete(const absl::Status& status) { login_result_ = status; }

void Initiator::OnSessionFailed(const absl::Status& status) { session_failure_ = status; }

absl::StatusOr<CommandOutcome> Initiator::Execute(uint64_t lun, const scsi::Cdb& cdb,
                                                  DataDirection direction,
                                                  std::span<uint8_t> buffer,
                                                  absl::Duration timeout) {
  struct Waiter {
    bool done = false;
    ScsiResult result;
    std::vector<uint8_t> sense;
  } waiter;
  scsi::RetryBudget budget;
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    ScsiRequest request;
    memcpy(request.cdb, cdb.bytes, cdb.length);
    request.cdb_length = cdb.length;
    request.lun = lun;
    request.direction = direction;
    request.buffer = buffer.data();
    request.length = static_cast<uint32_t>(buffer.size());
    request.context = &waiter;
    request.done = [](ScsiRequest* r, const ScsiResult& result) {
      auto* w = static_cast<Waiter*>(r->context);
      w->done = true;
      w->result = result;
      w->sense.assign(result.sense.begin(), result.sense.end());
      w->result.sense = {};
    };
    waiter = Waiter{};
    if (absl::Status submitted = session_->Submit(&request); !submitted.ok()) return submitted;
    absl::Status ran = loop_->RunUntil([&] { return waiter.done; }, deadline);
    if (!ran.ok()) {
      // The request lives on this stack frame: the session must forget it.
      absl::Status status = absl::DeadlineExceededError("SCSI command timed out");
      TagFailure(status, FailureKind::kTimedOut);
      session_->Abort(status);
      return status;
    }
    if (!waiter.result.status.ok()) return waiter.result.status;

    CommandOutcome outcome;
    outcome.scsi_status = waiter.result.scsi_status;
    outcome.residual = waiter.result.residual;
    if (!waiter.sense.empty()) {
      auto sense = scsi::DecodeSense(waiter.sense);
      if (sense.ok()) outcome.sense = *sense;
    }
    const scsi::SenseData* sense = outcome.sense ? &*outcome.sense : nullptr;
    switch (scsi::Classify(outcome.scsi_status, sense)) {
      case scsi::CommandOutcome::kSuccess:
        return outcome;
      case scsi::CommandOutcome::kRetry:
        if (budget.ShouldRetry(scsi::CommandOutcome::kRetry)) {
          // BUSY and TASK SET FULL clear with time, not with haste.
          absl::Time resume = absl::Now() + absl::Milliseconds(10 * budget.used());
          (void)loop_->RunUntil([&] { return absl::Now() >= resume; }, resume);
          continue;
        }
        [[fallthrough]];
      case scsi::CommandOutcome::kFail: {
        absl::Status status = scsi::ToStatus(outcome.scsi_status, sense);
        TagFailure(status, FailureKind::kIo);
        return status;
      }
    }
  }
}

absl::StatusOr<std::vector<DiscoveredTarget>> Initiator::SendTargets(absl::Duration timeout) {
  std::optional<absl::StatusOr<std::vector<DiscoveredTarget>>> answer;
  session_->SendTargets(
      [&](absl::StatusOr<std::vector<DiscoveredTarget>> targets) { answer = std::move(targets); });
  absl::Status ran = loop_->RunUntil([&] { return answer.has_value(); }, absl::Now() + timeout);
  if (!ran.ok()) {
    TagFailure(ran, FailureKind::kTimedOut);
    return ran;
  }
  return std::move(*answer);
}

absl::Status Initiator::Logout(absl::Duration timeout) {
  if (session_->state() != Session::State::kFullFeature) return absl::OkStatus();
  session_->Logout();
  return loop_->RunUntil(
      [&] { return logged_out_ || session_->state() == Session::State::kFailed; },
      absl::Now() + timeout);
}

}  // namespace isergw::iscsi
