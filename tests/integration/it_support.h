// Shared pieces of the integration tests: a tgtd with one file-backed LUN,
// login options for it, and a driver that keeps many SCSI commands in
// flight on a Session and records how each one ended.
#ifndef TESTS_INTEGRATION_IT_SUPPORT_H_
#define TESTS_INTEGRATION_IT_SUPPORT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "iser_client/client/initiator.h"
#include "iser_client/scsi/cdb.h"
#include "iser_client/session/scsi_request.h"
#include "iser_client/uring/event_loop.h"
#include "tests/integration/tgtd_fixture.h"

namespace isergw::testing {

inline constexpr char kInitiatorName[] = "iqn.2024-01.org.isergw:integration-test";
inline constexpr uint32_t kBlockSize = 512;

// A running tgtd with target 1 (`iqn`) open to every initiator, LUN 1 backed
// by a zero-filled file of `lun_bytes`.
struct TargetWithLun {
  std::unique_ptr<Tgtd> tgtd;
  std::string iqn;
  std::string backing_path;
  uint64_t lun_bytes = 0;
  // Removes the backing file and its directory when the last copy goes.
  std::shared_ptr<void> cleanup;
};
absl::StatusOr<TargetWithLun> StartTargetWithLun(uint64_t lun_bytes,
                                                 const std::string& lun_params = "");

// Login options for `iqn` on `tgtd` (no CHAP, default negotiation).
iscsi::InitiatorOptions OptionsFor(const Tgtd& tgtd, const std::string& iqn);

std::unique_ptr<uring::EventLoop> NewLoop();

// Runs `loop` briefly so that the receives of a destroyed session's
// transport, cancelled at its destruction, complete while the test still
// watches (the loop would otherwise free that state only when it goes).
void DrainLoop(uring::EventLoop* loop);

// Drains the loop when it goes out of scope: declare it after the loop and
// before the initiator.
struct DrainOnExit {
  uring::EventLoop* loop;
  ~DrainOnExit() { DrainLoop(loop); }
};

// Deterministic pseudo-random bytes.
void FillRandom(uint8_t* data, size_t length, uint64_t seed);

// How one asynchronous command ended.
struct Completion {
  bool done = false;
  absl::Status status;
  uint8_t scsi_status = 0xff;
  std::vector<uint8_t> sense;
  uint64_t completed_ns = 0;
};

// Commands submitted together to one Session; each keeps its own request
// (stable addresses) and records its result.
class CommandBatch {
 public:
  CommandBatch(iscsi::Session& session, uring::EventLoop* loop, uint64_t lun_field)
      : session_(session), loop_(loop), lun_field_(lun_field) {}

  // Queues a command for Submit(); `buffer` must outlive the batch.
  void Add(const scsi::Cdb& cdb, iscsi::DataDirection direction, uint8_t* buffer, uint32_t length);
  void AddRead(uint64_t lba, uint32_t blocks, uint8_t* buffer);
  void AddWrite(uint64_t lba, uint32_t blocks, uint8_t* buffer);

  // Submits every queued command; stops at the first refusal.
  absl::Status SubmitAll();
  // Runs the loop until every submitted command completed or `timeout`.
  absl::Status WaitAll(absl::Duration timeout);
  // SubmitAll + WaitAll + every command GOOD; the error names the first bad one.
  absl::Status RunAll(absl::Duration timeout = absl::Seconds(60));

  size_t size() const { return entries_.size(); }
  size_t submitted() const { return submitted_; }
  size_t completed() const { return completed_; }
  const Completion& completion(size_t i) const { return entries_[i].completion; }
  // The first command that did not end GOOD, as a status (OK if none).
  absl::Status FirstFailure() const;

 private:
  struct Entry {
    iscsi::ScsiRequest request;
    Completion completion;
    CommandBatch* batch = nullptr;
  };
  static void OnDone(iscsi::ScsiRequest* request, const iscsi::ScsiResult& result);

  iscsi::Session& session_;
  uring::EventLoop* loop_;
  uint64_t lun_field_;
  std::deque<Entry> entries_;
  size_t submitted_ = 0;
  size_t completed_ = 0;
};

}  // namespace isergw::testing

#endif  // TESTS_INTEGRATION_IT_SUPPORT_H_
