#ifndef ISER_CLIENT_TRANSPORT_ISER_WINDOWS_H_
#define ISER_CLIENT_TRANSPORT_ISER_WINDOWS_H_

#include <cstdint>
#include <optional>
#include <vector>

namespace isergw::iscsi {

// The rkey a type 2 memory window gets at its next bind: same window index
// (upper 24 bits), the 8-bit key bumped, as ibv_inc_rkey() does. A target
// holding an old rkey of the window can no longer use it.
constexpr uint32_t NextWindowRkey(uint32_t rkey) {
  return (rkey & 0xffffff00u) | ((rkey + 1) & 0xffu);
}

// Strict mode's bookkeeping, without verbs (so it can be tested alone): which
// memory window serves which command, and when a window may be bound again.
//
// A window's life: kFree -> Acquire(itt) -> kBound (the bind and the command
// are posted) -> either the target invalidated it remotely (Send with
// Invalidate carrying its rkey: Release) or we post a LOCAL_INV
// (BeginInvalidate -> kInvalidating -> Invalidated) -> kFree. A window is
// never handed out again before it is back in kFree, so a late RDMA access
// with an old rkey finds an invalid window.
//
// Commands are keyed by their ITT; the session's ITT carries its task slot in
// the low 16 bits, so a command that never got a response (aborted by task
// management) is found when its task slot is reused (Stale), and its window
// invalidated then. Sized once; nothing allocates afterwards.
class WindowTable {
 public:
  enum class State : uint8_t { kFree, kBound, kInvalidating };
  static constexpr uint32_t kNone = 0xffffffffu;

  struct Binding {
    uint32_t window;
    uint32_t rkey;           // to bind with and to advertise as the STag
    uint32_t previous_rkey;  // the window's rkey until this bind (the bind names it)
  };

  // `initial_rkeys[i]`: window i's rkey from ibv_alloc_mw.
  explicit WindowTable(const std::vector<uint32_t>& initial_rkeys);

  // A free window for the command `itt`, with its new rkey (bumped from the
  // last one), or nullopt when every window is busy.
  std::optional<Binding> Acquire(uint32_t itt);
  // The window bound for command `itt` (kBound), or kNone.
  uint32_t Find(uint32_t itt) const;
  // A window still bound to an older command in the same task slot as
  // `itt` (a command that ended without a response), or kNone.
  uint32_t Stale(uint32_t itt) const;
  // The target invalidated `rkey` (a received Send with Invalidate, here the
  // response to command `itt`): the window bound with exactly that rkey is
  // free again. False when no bound window has that rkey (a target
  // invalidating something it was not given).
  bool RemoteInvalidated(uint32_t itt, uint32_t rkey);
  // We post a LOCAL_INV for `window` (kBound -> kInvalidating); its command
  // no longer maps to it.
  void BeginInvalidate(uint32_t window);
  // The LOCAL_INV of `window` completed: kInvalidating -> kFree.
  void Invalidated(uint32_t window);

  // A received response parked until the window's invalidation completes.
  void Hold(uint32_t window, uint32_t recv_slot, uint32_t bytes);
  struct Held {
    uint32_t recv_slot = kNone;
    uint32_t bytes = 0;
  };
  Held TakeHeld(uint32_t window);

  State state(uint32_t window) const { return windows_[window].state; }
  uint32_t rkey(uint32_t window) const { return windows_[window].rkey; }
  uint32_t size() const { return static_cast<uint32_t>(windows_.size()); }
  uint32_t free_count() const { return static_cast<uint32_t>(free_count_); }

 private:
  struct Window {
    State state = State::kFree;
    uint32_t rkey = 0;
    uint32_t itt = 0;
    Held held;
  };
  static uint32_t TaskSlot(uint32_t itt) { return itt & 0xffffu; }
  void Free(uint32_t window);

  std::vector<Window> windows_;
  // Free windows, first in first out: a window rests as long as possible
  // between binds, so its 8-bit key comes round again only after
  // 256 x size() commands.
  std::vector<uint32_t> free_;
  size_t free_head_ = 0;  // next to hand out
  size_t free_count_ = 0;
  std::vector<uint32_t> by_task_slot_;  // task slot -> bound window or kNone
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_ISER_WINDOWS_H_
