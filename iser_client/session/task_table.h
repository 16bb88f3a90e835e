#ifndef ISER_CLIENT_SESSION_TASK_TABLE_H_
#define ISER_CLIENT_SESSION_TASK_TABLE_H_

#include <cstdint>
#include <vector>

#include "iser_client/pdu/opcodes.h"

namespace isergw::iscsi {

// Fixed slots for the tasks of one session. A task's ITT is its slot index in
// the low 16 bits and the slot's generation in the high 16, so a reply finds
// its task in O(1) (SPDK's rdma_reqs[cid]) and a late reply for a finished
// task is told apart from the slot's next user (ublksrv's nbd cookie).
template <typename Task>
class TaskTable {
 public:
  static constexpr uint32_t kMaxSlots = 1u << 16;

  explicit TaskTable(uint32_t slots)
      : tasks_(slots), generations_(slots, 1), used_(slots, 0), free_(slots) {
    for (uint32_t i = 0; i < slots; ++i) free_[i] = slots - 1 - i;
  }

  // Returns nullptr when every slot is in use.
  Task* Acquire(uint32_t* itt) {
    if (free_.empty()) return nullptr;
    uint32_t slot = free_.back();
    free_.pop_back();
    used_[slot] = 1;
    *itt = (uint32_t{generations_[slot]} << 16) | slot;
    return &tasks_[slot];
  }

  void Release(uint32_t itt) {
    uint32_t slot = itt & 0xffff;
    // Generation 0xffff with slot 0xffff would be the reserved tag; 0 is
    // never used so that a zeroed field never matches.
    uint16_t& gen = generations_[slot];
    gen = gen >= 0xfffe ? 1 : gen + 1;
    used_[slot] = 0;
    free_.push_back(slot);
  }

  // The task an ITT names, or nullptr when the ITT is stale or out of range.
  Task* Find(uint32_t itt) {
    uint32_t slot = itt & 0xffff;
    if (itt == kReservedTag || slot >= tasks_.size() || generations_[slot] != (itt >> 16)) {
      return nullptr;
    }
    return used_[slot] ? &tasks_[slot] : nullptr;
  }

  Task& at_slot(uint32_t slot) { return tasks_[slot]; }
  uint32_t capacity() const { return static_cast<uint32_t>(tasks_.size()); }
  uint32_t in_use_count() const { return capacity() - static_cast<uint32_t>(free_.size()); }
  uint32_t itt_of_slot(uint32_t slot) const { return (uint32_t{generations_[slot]} << 16) | slot; }
  bool in_use(uint32_t slot) const { return used_[slot] != 0; }

 private:
  std::vector<Task> tasks_;
  std::vector<uint16_t> generations_;
  std::vector<uint8_t> used_;
  std::vector<uint32_t> free_;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_SESSION_TASK_TABLE_H_
