#include "iser_client/transport/iser_windows.h"

namespace isergw::iscsi {

WindowTable::WindowTable(const std::vector<uint32_t>& initial_rkeys)
    : windows_(initial_rkeys.size()),
      free_(initial_rkeys.size()),
      free_count_(initial_rkeys.size()),
      by_task_slot_(0x10000, kNone) {
  for (size_t i = 0; i < initial_rkeys.size(); ++i) {
    windows_[i].rkey = initial_rkeys[i];
    free_[i] = static_cast<uint32_t>(i);
  }
}

std::optional<WindowTable::Binding> WindowTable::Acquire(uint32_t itt) {
  if (free_count_ == 0 || by_task_slot_[TaskSlot(itt)] != kNone) return std::nullopt;
  const uint32_t w = free_[free_head_];
  free_head_ = (free_head_ + 1) % free_.size();
  --free_count_;
  Window& window = windows_[w];
  const uint32_t previous = window.rkey;
  window.state = State::kBound;
  window.rkey = NextWindowRkey(previous);
  window.itt = itt;
  window.held = Held{};
  by_task_slot_[TaskSlot(itt)] = w;
  return Binding{w, window.rkey, previous};
}

uint32_t WindowTable::Find(uint32_t itt) const {
  const uint32_t w = by_task_slot_[TaskSlot(itt)];
  if (w == kNone || windows_[w].itt != itt) return kNone;
  return w;
}

uint32_t WindowTable::Stale(uint32_t itt) const {
  const uint32_t w = by_task_slot_[TaskSlot(itt)];
  if (w == kNone || windows_[w].itt == itt) return kNone;
  return w;
}

bool WindowTable::RemoteInvalidated(uint32_t itt, uint32_t rkey) {
  // The common case: the response's own window, found by its ITT.
  if (const uint32_t w = Find(itt); w != kNone && windows_[w].rkey == rkey) {
    by_task_slot_[TaskSlot(itt)] = kNone;
    Free(w);
    return true;
  }
  // Otherwise (a stale command's window): a scan bounded by the table size.
  for (uint32_t w = 0; w < windows_.size(); ++w) {
    Window& window = windows_[w];
    if (window.rkey != rkey) continue;
    if (window.state == State::kBound) {
      by_task_slot_[TaskSlot(window.itt)] = kNone;
      Free(w);
      return true;
    }
    if (window.state == State::kInvalidating) return true;  // our LOCAL_INV completes later
    return false;
  }
  return false;
}

void WindowTable::BeginInvalidate(uint32_t window) {
  Window& w = windows_[window];
  if (w.state != State::kBound) return;
  if (by_task_slot_[TaskSlot(w.itt)] == window) by_task_slot_[TaskSlot(w.itt)] = kNone;
  w.state = State::kInvalidating;
}

void WindowTable::Invalidated(uint32_t window) {
  if (windows_[window].state == State::kInvalidating) Free(window);
}

void WindowTable::Hold(uint32_t window, uint32_t recv_slot, uint32_t bytes) {
  windows_[window].held = Held{recv_slot, bytes};
}

WindowTable::Held WindowTable::TakeHeld(uint32_t window) {
  Held held = windows_[window].held;
  windows_[window].held = Held{};
  return held;
}

void WindowTable::Free(uint32_t window) {
  windows_[window].state = State::kFree;
  free_[(free_head_ + free_count_) % free_.size()] = window;
  ++free_count_;
}

}  // namespace isergw::iscsi
