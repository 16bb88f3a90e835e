#ifndef ISER_CLIENT_TRANSPORT_ISER_MEMORY_H_
#define ISER_CLIENT_TRANSPORT_ISER_MEMORY_H_

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace isergw::iscsi {

// An address range [begin, end).
struct AddressRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  bool Contains(uintptr_t b, size_t length) const { return b >= begin && b + length <= end; }
};

// The pages holding [base, base + length): what ibv_reg_mr pins at least.
AddressRange PageRange(uintptr_t base, size_t length, size_t page_size);

// The mapping of /proc/self/maps text `maps` that contains `address`, or
// NotFound. Pure, for tests; FindMapping() reads the real file.
absl::StatusOr<AddressRange> FindMappingIn(std::string_view maps, uintptr_t address);
absl::StatusOr<AddressRange> FindMapping(uintptr_t address);

// Memory registrations of one protection domain, made once and reused (a
// small spdk_mem_map). A command buffer outside every registered region is
// registered on first use together with the whole mapping around it (one
// registration covers a caller's whole buffer area, not one I/O), and every
// later command in that mapping finds it here without a system call.
//
// Caveat (why callers should allocate from an IoBufferArena): a registration
// pins the pages it covers. If a caller unmaps a registered buffer and later
// maps new memory at the same address, the cached registration still points
// at the old pages; the arena's memory is never unmapped while in use.
class RegistrationCache {
 public:
  // Mappings larger than this are not registered whole: only the pages of
  // the buffer itself are.
  static constexpr size_t kMaxWholeMapping = size_t{1} << 30;

  RegistrationCache(ibv_pd* pd, int access) : pd_(pd), access_(access) {}
  ~RegistrationCache();
  RegistrationCache(const RegistrationCache&) = delete;
  RegistrationCache& operator=(const RegistrationCache&) = delete;

  // The registration covering [base, base + length), registering it now if
  // none does. Errors name the address range and errno.
  absl::StatusOr<ibv_mr*> Find(const void* base, size_t length);
  // Registers exactly [base, base + length) (the transport's PDU buffers).
  absl::StatusOr<ibv_mr*> Register(void* base, size_t length);

  // ibv_reg_mr calls made so far, for `bench --json`'s mr_registrations.
  uint64_t registrations() const { return registrations_; }
  size_t regions() const { return regions_.size(); }

 private:
  ibv_pd* pd_;
  int access_;
  std::vector<ibv_mr*> regions_;
  size_t last_hit_ = 0;
  uint64_t registrations_ = 0;
};

// Memory for I/O buffers in one mapping of its own, so that the first
// command that uses it registers all of it at once and nothing is registered
// again; never unmapped before the arena is destroyed. A bump allocator:
// callers take their buffers once at start-up.
class IoBufferArena {
 public:
  static absl::StatusOr<IoBufferArena> Create(size_t bytes);
  IoBufferArena(IoBufferArena&& other) noexcept;
  IoBufferArena& operator=(IoBufferArena&&) = delete;
  ~IoBufferArena();

  // `bytes` aligned to `alignment` (a power of two), or nullptr when full.
  uint8_t* Allocate(size_t bytes, size_t alignment = 4096);
  size_t capacity() const { return size_; }
  size_t used() const { return used_; }

 private:
  IoBufferArena(uint8_t* base, size_t size) : base_(base), size_(size) {}
  uint8_t* base_;
  size_t size_;
  size_t used_ = 0;
};

}  // namespace isergw::iscsi

#endif  // ISER_CLIENT_TRANSPORT_ISER_MEMORY_H_
