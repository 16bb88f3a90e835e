#include "tests/integration/it_support.h"

#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace isergw::testing {

absl::StatusOr<TargetWithLun> StartTargetWithLun(uint64_t lun_bytes,
                                                 const std::string& lun_params) {
  TargetWithLun t;
  t.tgtd = std::make_unique<Tgtd>();
  t.iqn = "iqn.2024-01.org.isergw.test:disk1";
  t.lun_bytes = lun_bytes;
  t.backing_path = MakeBackingFile("lun1.img", lun_bytes);
  t.cleanup =
      std::shared_ptr<void>(nullptr, [path = t.backing_path](void*) { RemoveBackingFile(path); });
  if (absl::Status st = t.tgtd->Start(); !st.ok()) return st;
  if (absl::Status st = t.tgtd->AddTarget(1, t.iqn); !st.ok()) return st;
  if (absl::Status st = t.tgtd->AddFileLun(1, 1, t.backing_path, lun_params); !st.ok()) return st;
  if (absl::Status st = t.tgtd->AllowAll(1); !st.ok()) return st;
  return t;
}

iscsi::InitiatorOptions OptionsFor(const Tgtd& tgtd, const std::string& iqn) {
  iscsi::InitiatorOptions options;
  options.endpoint = iscsi::Endpoint{"127.0.0.1", tgtd.port()};
  options.target_name = iqn;
  options.initiator_name = kInitiatorName;
  options.session.connect_timeout = absl::Seconds(5);
  options.session.login_timeout = absl::Seconds(5);
  return options;
}

std::unique_ptr<uring::EventLoop> NewLoop() {
  auto loop = uring::EventLoop::Create({.entries = 1024});
  if (!loop.ok()) abort();
  return std::move(*loop);
}

void DrainLoop(uring::EventLoop* loop) {
  for (int i = 0; i < 3; ++i) (void)loop->RunOnce(true, absl::Milliseconds(20));
}

void FillRandom(uint8_t* data, size_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t v = rng();
    memcpy(data + i, &v, 8);
  }
  for (; i < length; ++i) data[i] = static_cast<uint8_t>(rng());
}

void CommandBatch::Add(const scsi::Cdb& cdb, iscsi::DataDirection direction, uint8_t* buffer,
                       uint32_t length) {
  Entry& e = entries_.emplace_back();
  e.batch = this;
  memcpy(e.request.cdb, cdb.bytes, cdb.length);
  e.request.cdb_length = cdb.length;
  e.request.lun = lun_field_;
  e.request.direction = direction;
  e.request.buffer = buffer;
  e.request.length = length;
  e.request.done = &CommandBatch::OnDone;
  e.request.context = &e;
}

void CommandBatch::AddRead(uint64_t lba, uint32_t blocks, uint8_t* buffer) {
  Add(scsi::MakeRead(lba, blocks, false), iscsi::DataDirection::kRead, buffer, blocks * kBlockSize);
}

void CommandBatch::AddWrite(uint64_t lba, uint32_t blocks, uint8_t* buffer) {
  Add(scsi::MakeWrite(lba, blocks, false), iscsi::DataDirection::kWrite, buffer,
      blocks * kBlockSize);
}

void CommandBatch::OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result) {
  auto* e = static_cast<Entry*>(request->context);
  Completion& c = e->completion;
  if (c.done) {
    // A command must complete exactly once; remember the violation.
    c.status = absl::InternalError("command completed twice");
    return;
  }
  c.done = true;
  c.status = result.status;
  c.scsi_status = result.scsi_status;
  c.sense.assign(result.sense.begin(), result.sense.end());
  c.completed_ns = uring::EventLoop::MonotonicNs();
  ++e->batch->completed_;
}

absl::Status CommandBatch::SubmitAll() {
  while (submitted_ < entries_.size()) {
    absl::Status st = session_.Submit(&entries_[submitted_].request);
    if (!st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("Submit of command ", submitted_, ": ", st.message()));
    }
    ++submitted_;
  }
  return absl::OkStatus();
}

absl::Status CommandBatch::WaitAll(absl::Duration timeout) {
  return loop_->RunUntil([&] { return completed_ >= submitted_; }, absl::Now() + timeout);
}

absl::Status CommandBatch::FirstFailure() const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Completion& c = entries_[i].completion;
    if (!c.done) return absl::InternalError(absl::StrCat("command ", i, " never completed"));
    if (!c.status.ok()) {
      return absl::Status(c.status.code(), absl::StrCat("command ", i, ": ", c.status.message()));
    }
    if (c.scsi_status != 0) {
      std::string sense;
      for (uint8_t b : c.sense) absl::StrAppendFormat(&sense, "%02x", b);
      return absl::InternalError(
          absl::StrFormat("command %u (opcode 0x%02x): SCSI status 0x%02x sense %s", i,
                          entries_[i].request.cdb[0], c.scsi_status, sense));
    }
  }
  return absl::OkStatus();
}

absl::Status CommandBatch::RunAll(absl::Duration timeout) {
  if (absl::Status st = SubmitAll(); !st.ok()) return st;
  if (absl::Status st = WaitAll(timeout); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat(completed_, " of ", submitted_,
                                                " commands completed: ", st.message()));
  }
  return FirstFailure();
}

}  // namespace isergw::testing
