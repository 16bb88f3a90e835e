#include "tests/unit/session/fake_target.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>

namespace isergw::iscsi::testing {
namespace {

template <typename Header>
Header Checked(absl::StatusOr<Header> decoded, const char* what) {
  if (!decoded.ok()) {
    ADD_FAILURE() << "sent PDU is not a valid " << what << ": " << decoded.status();
    return Header{};
  }
  return *std::move(decoded);
}

}  // namespace

TextPairs SentPdu::pairs() const {
  auto parsed = ParseText(std::span<const uint8_t>(data.data(), data.size()));
  if (!parsed.ok()) {
    ADD_FAILURE() << "sent text does not parse: " << parsed.status();
    return {};
  }
  return *std::move(parsed);
}

ScsiCommandHeader SentPdu::AsScsiCommand() const {
  return Checked(DecodeScsiCommand(header()), "SCSI Command");
}
DataOutHeader SentPdu::AsDataOut() const { return Checked(DecodeDataOut(header()), "Data-Out"); }
NopOutHeader SentPdu::AsNopOut() const { return Checked(DecodeNopOut(header()), "NOP-Out"); }
TaskMgmtRequestHeader SentPdu::AsTaskMgmt() const {
  return Checked(DecodeTaskMgmtRequest(header()), "Task Management Request");
}
LoginRequestHeader SentPdu::AsLogin() const {
  return Checked(DecodeLoginRequest(header()), "Login Request");
}
TextRequestHeader SentPdu::AsText() const {
  return Checked(DecodeTextRequest(header()), "Text Request");
}
LogoutRequestHeader SentPdu::AsLogout() const {
  return Checked(DecodeLogoutRequest(header()), "Logout Request");
}

FakeTransport::FakeTransport(Wire* wire, TransportListener* listener) : wire_(wire) {
  wire_->listener = listener;
  wire_->closed = false;
  wire_->full_feature = false;
  ++wire_->transports_created;
}

FakeTransport::~FakeTransport() { ++wire_->transports_destroyed; }

void FakeTransport::Connect(const Endpoint& endpoint, absl::Duration) {
  wire_->endpoint = endpoint;
  ++wire_->connect_calls;
}

void FakeTransport::Send(const OutgoingPdu& pdu) {
  EXPECT_FALSE(wire_->closed) << "Send() after Close()";
  EXPECT_GE(pdu.bhs.size(), kBhsSize);
  ++wire_->send_calls;
  ++stats_.pdus_sent;
  memcpy(wire_->last_bhs.data(), pdu.bhs.data(), kBhsSize);
  if (!wire_->record) return;
  SentPdu& sent = wire_->sent.emplace_back();
  memcpy(sent.bhs.data(), pdu.bhs.data(), kBhsSize);
  sent.data.assign(pdu.data.begin(), pdu.data.end());
  if (pdu.command != nullptr) {
    sent.has_command = true;
    sent.command = *pdu.command;
  }
}

void FakeTransport::EnterFullFeaturePhase(const FullFeatureLimits& limits) {
  wire_->full_feature = true;
  wire_->limits = limits;
}

void FakeTransport::Close() { wire_->closed = true; }

TestCommand::TestCommand(DataDirection direction, uint32_t length, uint8_t opcode)
    : buffer(length) {
  if (opcode == 0 && direction != DataDirection::kNone) {
    opcode = direction == DataDirection::kRead ? 0x28 : 0x2a;  // READ(10), WRITE(10)
  }
  request.cdb[0] = opcode;
  request.cdb[9] = 0x5a;  // a marker byte to check the CDB is carried whole
  request.cdb_length = 10;
  request.lun = 0x0001000000000000ull;  // LUN 1
  request.direction = direction;
  request.buffer = buffer.empty() ? nullptr : buffer.data();
  request.length = length;
  request.done = &TestCommand::Done;
  request.context = this;
}

void TestCommand::Done(ScsiRequest* request, const ScsiResult& result) {
  auto* self = static_cast<TestCommand*>(request->context);
  ++self->done_calls;
  self->status = result.status;
  self->scsi_status = result.scsi_status;
  self->residual = result.residual;
  self->underflow = result.underflow;
  self->overflow = result.overflow;
  self->sense.assign(result.sense.begin(), result.sense.end());
  if (self->on_done) self->on_done(*self);
}

SessionConfig SessionHarness::DefaultConfig() {
  SessionConfig config;
  config.login.initiator_name = "iqn.2024-01.org.isergw:test";
  config.login.target_name = "iqn.2024-01.com.example:disk0";
  config.login.isid = {0x80, 0, 0, 0, 0, 1};
  config.max_commands = 16;
  // Long enough that no timer fires unless a test shortens it.
  config.connect_timeout = absl::Seconds(60);
  config.login_timeout = absl::Seconds(60);
  config.nop_interval = absl::Seconds(60);
  config.nop_timeout = absl::Seconds(60);
  config.command_timeout = absl::Seconds(60);
  config.task_mgmt_timeout = absl::Seconds(60);
  return config;
}

SessionHarness::SessionHarness(SessionConfig config) : config_(std::move(config)) {
  auto loop = uring::EventLoop::Create();
  if (!loop.ok()) {
    ADD_FAILURE() << "EventLoop::Create: " << loop.status();
    return;
  }
  loop_ = *std::move(loop);
  session_ = std::make_unique<Session>(
      loop_.get(),
      [this](uring::EventLoop*, TransportListener* listener) -> std::unique_ptr<Transport> {
        return std::make_unique<FakeTransport>(&wire_, listener);
      },
      config_, &observer_);
}

SessionHarness::~SessionHarness() { session_.reset(); }

void SessionHarness::StartLogin() {
  session_->Login(Endpoint{"192.0.2.1", 3260});
  ASSERT_EQ(wire_.connect_calls, 1);
  ASSERT_NE(wire_.listener, nullptr);
  EXPECT_EQ(session_->state(), Session::State::kConnecting);
  wire_.listener->OnConnected(absl::OkStatus());
}

bool SessionHarness::LoginOk(const TargetLoginAnswers& answers) {
  StartLogin();
  stat_sn_ = answers.stat_sn;
  exp_cmd_sn = answers.exp_cmd_sn;
  max_cmd_sn = answers.max_cmd_sn;

  std::vector<SentPdu> sent = TakeSent();
  if (sent.size() != 1 || sent[0].opcode() != Opcode::kLoginRequest) {
    ADD_FAILURE() << "expected one Login Request, got " << sent.size() << " PDUs";
    return false;
  }
  LoginRequestHeader security = sent[0].AsLogin();
  EXPECT_EQ(security.csg, kStageSecurityNegotiation);
  LoginResponseHeader rsp;
  rsp.transit = true;
  rsp.csg = kStageSecurityNegotiation;
  rsp.nsg = kStageLoginOperationalNegotiation;
  rsp.isid = security.isid;
  rsp.itt = security.itt;
  rsp.stat_sn = NextStatSn();
  rsp.exp_cmd_sn = exp_cmd_sn;
  rsp.max_cmd_sn = max_cmd_sn;
  std::string text = SerializeText({{"AuthMethod", "None"}, {"TargetPortalGroupTag", "1"}});
  Deliver(rsp, Bytes(text));

  sent = TakeSent();
  if (sent.size() != 1 || sent[0].opcode() != Opcode::kLoginRequest) {
    ADD_FAILURE() << "expected the operational Login Request, got " << sent.size() << " PDUs";
    return false;
  }
  LoginRequestHeader operational = sent[0].AsLogin();
  // One login is one task: LIO answers every step with the first ITT.
  if (operational.itt != security.itt) {
    ADD_FAILURE() << "the operational Login Request changed the ITT from " << security.itt << " to "
                  << operational.itt;
    return false;
  }
  EXPECT_EQ(operational.csg, kStageLoginOperationalNegotiation);
  EXPECT_EQ(operational.exp_stat_sn, rsp.stat_sn + 1);
  // Answer each offer with the override, else agree with the offer; then
  // declare what the overrides add.
  TextPairs reply;
  TextPairs offers = sent[0].pairs();
  for (const TextPair& offer : offers) {
    const std::string* value = Find(answers.overrides, offer.key);
    reply.push_back({offer.key, value != nullptr ? *value : offer.value});
  }
  for (const TextPair& extra : answers.overrides) {
    if (Find(offers, extra.key) == nullptr) reply.push_back(extra);
  }
  LoginResponseHeader last;
  last.transit = true;
  last.csg = kStageLoginOperationalNegotiation;
  last.nsg = kStageFullFeaturePhase;
  last.isid = operational.isid;
  last.tsih = answers.tsih;
  last.itt = operational.itt;
  last.stat_sn = NextStatSn();
  last.exp_cmd_sn = exp_cmd_sn;
  last.max_cmd_sn = max_cmd_sn;
  text = SerializeText(reply);
  Deliver(last, Bytes(text));

  if (session_->state() != Session::State::kFullFeature) {
    ADD_FAILURE() << "login did not complete: " << observer_.login_status;
    return false;
  }
  EXPECT_EQ(observer_.login_complete_calls, 1);
  EXPECT_TRUE(observer_.login_status.ok()) << observer_.login_status;
  return true;
}

void SessionHarness::DeliverRaw(std::span<const uint8_t> bhs, std::span<const uint8_t> data) {
  if (wire_.closed || wire_.listener == nullptr) {
    ADD_FAILURE() << "PDU delivered on a closed transport";
    return;
  }
  IncomingPdu pdu{bhs, {}, data};
  wire_.listener->OnPdu(pdu);
}

ScsiResponseHeader SessionHarness::Response(uint32_t itt, uint8_t status) {
  ScsiResponseHeader h;
  h.itt = itt;
  h.status = status;
  h.stat_sn = NextStatSn();
  h.exp_cmd_sn = exp_cmd_sn;
  h.max_cmd_sn = max_cmd_sn;
  return h;
}

DataInHeader SessionHarness::DataIn(uint32_t itt, uint32_t data_sn, uint32_t offset) {
  DataInHeader h;
  h.lun = 0x0001000000000000ull;
  h.itt = itt;
  h.ttt = kReservedTag;
  h.exp_cmd_sn = exp_cmd_sn;
  h.max_cmd_sn = max_cmd_sn;
  h.data_sn = data_sn;
  h.buffer_offset = offset;
  return h;
}

R2tHeader SessionHarness::R2t(uint32_t itt, uint32_t ttt, uint32_t offset, uint32_t length,
                              uint32_t r2t_sn) {
  R2tHeader h;
  h.lun = 0x0001000000000000ull;
  h.itt = itt;
  h.ttt = ttt;
  h.stat_sn = stat_sn_;  // R2T does not advance StatSN
  h.exp_cmd_sn = exp_cmd_sn;
  h.max_cmd_sn = max_cmd_sn;
  h.r2t_sn = r2t_sn;
  h.buffer_offset = offset;
  h.desired_data_transfer_length = length;
  return h;
}

NopInHeader SessionHarness::UnsolicitedNopIn(uint32_t ttt) {
  NopInHeader h;
  h.itt = kReservedTag;
  h.ttt = ttt;
  h.stat_sn = stat_sn_;  // an unsolicited NOP-In does not advance StatSN
  h.exp_cmd_sn = exp_cmd_sn;
  h.max_cmd_sn = max_cmd_sn;
  return h;
}

std::vector<SentPdu> SessionHarness::TakeSent() { return std::exchange(wire_.sent, {}); }

bool SessionHarness::RunUntil(const std::function<bool()>& done, absl::Duration timeout) {
  absl::Status ran = loop_->RunUntil(done, absl::Now() + timeout);
  if (!ran.ok() && !absl::IsDeadlineExceeded(ran)) ADD_FAILURE() << "loop: " << ran;
  return done();
}

void SessionHarness::RunFor(absl::Duration d) {
  RunUntil([] { return false; }, d);
}

SentPdu SessionHarness::SubmitAndTake(TestCommand& cmd) {
  absl::Status submitted = session_->Submit(&cmd.request);
  EXPECT_TRUE(submitted.ok()) << submitted;
  std::vector<SentPdu> sent = TakeSent();
  if (sent.size() != 1 || sent[0].opcode() != Opcode::kScsiCommand) {
    ADD_FAILURE() << "expected exactly one SCSI Command PDU, got " << sent.size();
    return SentPdu{};
  }
  return sent[0];
}

std::span<const uint8_t> Bytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

const std::string* Find(const TextPairs& pairs, const std::string& key) {
  return FindValue(pairs, key);
}

}  // namespace isergw::iscsi::testing
